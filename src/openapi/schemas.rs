//! Schemas of the request bodies, query strings and response envelopes.
//!
//! The handlers build their JSON with `json!`, so these types mirror those
//! shapes by hand. Nothing constructs them: they exist only for the
//! [`ToSchema`] and [`IntoParams`] derives. A field that a handler always
//! writes, even as `null`, is marked required. A field that a handler leaves
//! out when it has no value uses `value_type` with `required = false`, so that
//! the schema does not allow `null` for it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Schema of the `data` member of an error envelope, which is always `null`.
fn null_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Null)
}

// ---- Envelopes ----

/// `status` of a successful response.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum SuccessStatus {
    Success,
}

/// `status` of an error response.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ErrorStatus {
    Error,
}

/// A successful response. `data` carries the result.
#[derive(ToSchema)]
pub struct Success<T> {
    pub status: SuccessStatus,
    pub data: T,
    /// Human-readable summary of the outcome.
    pub message: String,
}

/// One page of a list. `next_url` is the path and query of the next page,
/// or `null` on the last page.
#[derive(ToSchema)]
pub struct SuccessPage<T> {
    pub status: SuccessStatus,
    pub data: T,
    pub message: String,
    pub has_next: bool,
    #[schema(required = true)]
    pub next_url: Option<String>,
}

/// An error response. Every 4xx and 5xx status has this body, including
/// the 404 and 405 of unknown routes and methods.
#[derive(ToSchema)]
pub struct ErrorEnvelope {
    pub status: ErrorStatus,
    #[schema(schema_with = null_schema)]
    pub data: Value,
    /// Description of the failure, written for the client.
    pub message: String,
}

/// `data` of a deletion: an empty object.
#[derive(ToSchema)]
pub struct Empty {}

// ---- Query strings ----

/// Paging of list routes.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows per page, from 1 to 100, or 10 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u32>,
    /// The `cursor` of the previous page's `next_url`, passed unchanged.
    pub cursor: Option<String>,
}

/// The recipient an API key names. A scoped token names its own recipient,
/// so these parameters are ignored for it.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecipientQuery {
    /// The recipient's id. Takes precedence over `id_in_provider_system`.
    pub recipient_id: Option<Uuid>,
    /// Your id for the recipient. Unlike a mint, a lookup never creates the
    /// recipient.
    pub id_in_provider_system: Option<String>,
}

/// Sort order of `GET /destinations`, by creation time.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum SortOrder {
    Asc,
    Desc,
}

/// Filters of `GET /destinations`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DestinationListQuery {
    /// `asc` (oldest first, the default) or `desc`.
    pub order: Option<SortOrder>,
    /// Only destinations of this recipient.
    pub recipient_id: Option<Uuid>,
    /// Only destinations of the recipient with this id of yours. Returns 404
    /// when there is no such recipient.
    pub id_in_provider_system: Option<String>,
}

/// Filters of the transfers of one destination.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DestinationTransfersQuery {
    /// Comma-separated transfer statuses, matched case-insensitively.
    #[param(style = Form, explode = false)]
    pub status: Option<Vec<TransferStatus>>,
    /// Number of most recent transfers to return, from 1 to 100, in one
    /// response without paging. `page_size` and `cursor` are then ignored.
    #[param(minimum = 1, maximum = 100)]
    pub count: Option<u32>,
}

/// Filters of `GET /transfers`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransferListQuery {
    pub destination_id: Option<Uuid>,
    pub recipient_id: Option<Uuid>,
    /// Comma-separated transfer statuses, matched case-insensitively.
    #[param(style = Form, explode = false)]
    pub status: Option<Vec<TransferStatus>>,
    /// Only transfers submitted at or after this RFC 3339 time.
    pub submitted_from: Option<DateTime<Utc>>,
    /// Only transfers submitted before this RFC 3339 time.
    pub submitted_until: Option<DateTime<Utc>>,
}

/// Filters of `GET /audit-events`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditEventQuery {
    pub recipient_id: Option<Uuid>,
    /// Action name such as `token.minted`, matched exactly.
    pub action: Option<String>,
    /// Only events created at or after this RFC 3339 time.
    pub from: Option<DateTime<Utc>>,
    /// Only events created before this RFC 3339 time.
    pub until: Option<DateTime<Utc>>,
}

/// Filter of `GET /recipients`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecipientListQuery {
    /// Only the recipient with this id of yours.
    pub id_in_provider_system: Option<String>,
}

/// Option of `DELETE /recipients/{id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecipientDeleteQuery {
    /// `true` also deletes the recipient's destinations and their
    /// transfers. Without it, a recipient with destinations is kept (409).
    pub cascade: Option<bool>,
}

/// Query of the form route.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormQuery {
    /// Vendor key, to return only that vendor's subtree. An empty value
    /// counts as absent.
    pub vendor: Option<String>,
    /// Sent by `@prequel/react` and ignored, because every organization gets
    /// the same form.
    pub org_id: Option<String>,
}

// ---- Scoped tokens ----

/// Scope of a scoped token: GET reads the recipient's resources, POST writes
/// the one destination it was minted from.
#[derive(ToSchema)]
pub enum TokenScope {
    #[schema(rename = "GET")]
    Get,
    #[schema(rename = "POST")]
    Post,
}

/// Body of `POST /actions/generate-scoped-auth-token`.
#[derive(ToSchema)]
pub struct MintRequest {
    /// Origin of the web app the token is for, such as
    /// `https://app.example.com`. Requests with the token must send it in
    /// `X-APP-ID`.
    pub application_origin: String,
    /// The destination the token is for, with the recipient's identity. With
    /// only identity fields (or none), the default scope is GET. With any
    /// other field it is POST, and the token may create, test or change
    /// exactly this destination. With `id` set, it may also delete it.
    pub destination: Option<DestinationDocument>,
    /// The recipient's id, accepted here as well as in `destination`. When
    /// both are given, they must agree.
    pub recipient_id: Option<Uuid>,
    /// Overrides the scope that `destination` implies. Matched
    /// case-insensitively.
    pub scope: Option<TokenScope>,
    /// Lifetime in seconds, from 1 to `SCOPEGATE_TOKEN_MAX_TTL`. When absent,
    /// `SCOPEGATE_TOKEN_TTL`.
    #[schema(minimum = 1)]
    pub ttl_seconds: Option<u64>,
}

/// `data` of a mint.
#[derive(ToSchema)]
pub struct MintedToken {
    /// EdDSA JWT for `Authorization: Bearer`.
    pub scoped_token: String,
    pub expires_at: DateTime<Utc>,
    pub scope: TokenScope,
}

// ---- Destinations ----

/// A destination as clients send it: identity fields, `vendor`, `name`,
/// and the vendor's settings as further members, nested as the form tree
/// of `GET /public/forms/destination-vendors` lays them out. Members named
/// like credentials (`password`, `secret_key`, `private_key` and others), at
/// any depth, are stored encrypted and never returned. An empty string in
/// an id field counts as absent.
#[derive(ToSchema)]
pub struct DestinationDocument {
    /// Your id for the recipient, at most 256 characters. A mint, or a
    /// create with an API key, creates the recipient on first use.
    pub id_in_provider_system: Option<String>,
    pub recipient_id: Option<Uuid>,
    /// Id of a saved destination. In a mint, it binds a POST token to it.
    pub id: Option<Uuid>,
    /// Vendor key such as `postgres` or `s3`: lowercase letters, digits and
    /// `_`, at most 64 characters. Required to create or test.
    pub vendor: Option<String>,
    /// Display name, at most 256 characters. Required to create or test.
    pub name: Option<String>,
    pub is_enabled: Option<bool>,
    #[schema(minimum = 0, maximum = 10080)]
    pub frequency_minutes: Option<u32>,
    pub products: Option<Vec<String>>,
    pub enabled_models: Option<Vec<String>>,
    /// Vendor settings, such as a `postgres` object.
    #[serde(flatten)]
    pub settings: HashMap<String, Value>,
}

/// Body of the routes that create or test a destination.
#[derive(ToSchema)]
pub struct DestinationRequest {
    pub destination: DestinationDocument,
}

/// Body of the routes that change or test a saved destination. Objects
/// merge member by member into the saved destination, `null` removes a
/// member, and identity fields are ignored. An absent or empty
/// `destination` changes nothing.
#[derive(ToSchema)]
pub struct DestinationChanges {
    pub destination: Option<DestinationDocument>,
}

/// A saved destination, as `@prequel/react`'s `ExistingDestination`: its
/// stored settings without credentials, plus the fields below.
#[derive(ToSchema)]
pub struct Destination {
    pub id: Uuid,
    pub vendor: String,
    pub name: String,
    pub recipient_id: Uuid,
    pub id_in_provider_system: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `true` unless the destination was saved with `false`.
    pub is_enabled: bool,
    /// `[]` unless set.
    pub products: Vec<String>,
    /// `[]` unless set.
    pub enabled_models: Vec<String>,
    #[schema(required = true)]
    pub last_successful_transfer_ended_at: Option<DateTime<Utc>>,
    /// Vendor settings, such as a `postgres` object.
    #[serde(flatten)]
    pub settings: HashMap<String, Value>,
}

/// `data` with one destination.
#[derive(ToSchema)]
pub struct DestinationData {
    pub destination: Destination,
}

/// `data` with a list of destinations.
#[derive(ToSchema)]
pub struct DestinationList {
    pub destinations: Vec<Destination>,
}

/// Outcome of a connection test.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ConnectionTestStatus {
    Success,
    Error,
}

/// Machine-readable reason a connection test failed.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ConnectionErrorCode {
    InvalidSettings,
    AddressNotAllowed,
    HostNotFound,
    Timeout,
    ConnectionRefused,
    AuthenticationFailed,
    DatabaseNotFound,
    ConnectionFailed,
    NotSupported,
}

/// The side that has to act on a failure: the customer's settings or
/// server, or scopegate itself.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Blame {
    Destination,
    Scopegate,
}

/// Reason a connection test failed.
#[derive(ToSchema)]
pub struct FailureDetail {
    pub error_code: ConnectionErrorCode,
    pub title: String,
    pub blame: Blame,
    pub message: String,
}

/// `data` of a connection test. A well-formed request gets status 200
/// whatever the verdict. `error` is present only when `status` is `error`.
#[derive(ToSchema)]
pub struct ConnectionTestResult {
    pub status: ConnectionTestStatus,
    #[schema(value_type = FailureDetail, required = false)]
    pub error: Option<FailureDetail>,
}

// ---- Transfers ----

/// Status of a transfer. `PENDING` may become `RUNNING` or a finished
/// status, and `RUNNING` a finished status. Finished statuses are final.
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransferStatus {
    Pending,
    Running,
    Success,
    Error,
    PartialFailure,
    Cancelled,
    Expired,
    Orphaned,
}

/// Error of one model's transfer.
#[derive(ToSchema)]
pub struct ModelFailure {
    pub error_code: String,
    pub title: String,
    pub blame: String,
    pub message: String,
}

/// Metrics of one model in a transfer. Other members are kept as sent.
#[derive(ToSchema)]
pub struct ModelMetrics {
    pub model_name: String,
    #[schema(value_type = i64, required = false, minimum = 0)]
    pub rows_transferred: Option<i64>,
    #[schema(value_type = f64, required = false, minimum = 0)]
    pub volume_transferred_in_mb: Option<f64>,
    pub error: Option<ModelFailure>,
    #[serde(flatten)]
    pub other: HashMap<String, Value>,
}

/// A transfer, as `@prequel/react`'s `Transfer`.
#[derive(ToSchema)]
pub struct Transfer {
    pub id: Uuid,
    /// The organization's id, because scopegate has one data source per
    /// organization.
    pub source_id: Uuid,
    pub destination_id: Uuid,
    pub recipient_id: Uuid,
    pub status: TransferStatus,
    pub models: Vec<String>,
    pub model_metrics: Vec<ModelMetrics>,
    pub log: String,
    pub submitted_at: DateTime<Utc>,
    #[schema(required = true)]
    pub started_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub ended_at: Option<DateTime<Utc>>,
    pub rows_transferred: i64,
    pub volume_transferred_in_mb: f64,
}

/// Fields a transfer record or update may set. Absent fields keep their
/// value. A new transfer starts `PENDING`, submitted now, with no rows.
#[derive(ToSchema)]
pub struct TransferInput {
    /// On an update, a change must be a legal transition (409 otherwise).
    pub status: Option<TransferStatus>,
    /// `null` keeps the current time.
    pub submitted_at: Option<DateTime<Utc>>,
    /// `null` clears it.
    pub started_at: Option<DateTime<Utc>>,
    /// `null` clears it. Must not be before `started_at`.
    pub ended_at: Option<DateTime<Utc>>,
    #[schema(value_type = i64, required = false, minimum = 0)]
    pub rows_transferred: Option<i64>,
    #[schema(value_type = f64, required = false, minimum = 0)]
    pub volume_transferred_in_mb: Option<f64>,
    #[schema(value_type = Vec<String>, required = false)]
    pub models: Option<Vec<String>>,
    #[schema(value_type = String, required = false)]
    pub log: Option<String>,
    #[schema(value_type = Vec<ModelMetrics>, required = false)]
    pub model_metrics: Option<Vec<ModelMetrics>>,
}

/// `data` with one transfer.
#[derive(ToSchema)]
pub struct TransferData {
    pub transfer: Transfer,
}

/// `data` with a list of transfers.
#[derive(ToSchema)]
pub struct TransferList {
    pub transfers: Vec<Transfer>,
}

/// The response of `GET /destinations/{id}/transfers`: one page, or with
/// `count` the most recent transfers, without `has_next` and `next_url`.
#[derive(ToSchema)]
pub struct DestinationTransfers {
    pub status: SuccessStatus,
    pub data: TransferList,
    pub message: String,
    #[schema(value_type = bool, required = false)]
    pub has_next: Option<bool>,
    /// `null` on the last page.
    pub next_url: Option<String>,
}

// ---- Models and products ----

/// A column of a model. Other members are kept as sent.
#[derive(ToSchema)]
pub struct ModelColumn {
    pub name_in_source: String,
    pub data_type: String,
    #[serde(flatten)]
    pub other: HashMap<String, Value>,
}

/// A model, as `@prequel/react`'s `ModelConfig` plus its id.
#[derive(ToSchema)]
pub struct Model {
    pub id: Uuid,
    pub model_name: String,
    pub description: String,
    pub columns: Vec<ModelColumn>,
    pub source_table: String,
    pub source_schema: String,
    pub organization_column: String,
    /// Present only when set.
    #[schema(value_type = String, required = false)]
    pub source_name: Option<String>,
}

/// Body of `POST /models`. For the text fields, `null` means the empty
/// string.
#[derive(ToSchema)]
pub struct ModelCreate {
    /// Unique in the environment, at most 256 characters.
    pub model_name: String,
    pub description: Option<String>,
    pub source_table: Option<String>,
    pub source_schema: Option<String>,
    pub organization_column: Option<String>,
    /// An empty string or `null` clears it.
    pub source_name: Option<String>,
    #[schema(value_type = Vec<ModelColumn>, required = false)]
    pub columns: Option<Vec<ModelColumn>>,
}

/// Body of `PATCH /models/{id}`: the fields of [`ModelCreate`], all
/// optional. Absent fields, and a `null` `model_name`, keep their value.
#[derive(ToSchema)]
pub struct ModelUpdate {
    pub model_name: Option<String>,
    pub description: Option<String>,
    pub source_table: Option<String>,
    pub source_schema: Option<String>,
    pub organization_column: Option<String>,
    pub source_name: Option<String>,
    #[schema(value_type = Vec<ModelColumn>, required = false)]
    pub columns: Option<Vec<ModelColumn>>,
}

/// `data` with one model.
#[derive(ToSchema)]
pub struct ModelData {
    pub model: Model,
}

/// `data` with a list of models.
#[derive(ToSchema)]
pub struct ModelList {
    pub models: Vec<Model>,
}

/// A product: a named set of models, as `@prequel/react`'s `ProductConfig`
/// plus its id.
#[derive(ToSchema)]
pub struct Product {
    pub id: Uuid,
    pub product_name: String,
    /// Model names.
    pub models: Vec<String>,
}

/// Body of `POST /products`.
#[derive(ToSchema)]
pub struct ProductCreate {
    /// Unique in the environment, at most 256 characters.
    pub product_name: String,
    /// Names of existing models.
    #[schema(value_type = Vec<String>, required = false)]
    pub models: Option<Vec<String>>,
}

/// Body of `PATCH /products/{id}`. Absent fields, and a `null`
/// `product_name`, keep their value.
#[derive(ToSchema)]
pub struct ProductUpdate {
    pub product_name: Option<String>,
    #[schema(value_type = Vec<String>, required = false)]
    pub models: Option<Vec<String>>,
}

/// `data` with one product.
#[derive(ToSchema)]
pub struct ProductData {
    pub product: Product,
}

/// `data` with a list of products.
#[derive(ToSchema)]
pub struct ProductList {
    pub products: Vec<Product>,
}

// ---- Recipients ----

/// A recipient: one customer of yours.
#[derive(ToSchema)]
pub struct Recipient {
    pub id: Uuid,
    pub id_in_provider_system: String,
    #[schema(required = true)]
    pub name: Option<String>,
    /// Names of the products whose models the recipient receives.
    pub products: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// Body of `POST /recipients`.
#[derive(ToSchema)]
pub struct RecipientCreate {
    /// Your id for the customer, at most 256 characters and unique in the
    /// environment.
    pub id_in_provider_system: String,
    /// At most 256 characters.
    pub name: Option<String>,
    /// Names of existing products.
    #[schema(value_type = Vec<String>, required = false)]
    pub products: Option<Vec<String>>,
}

/// Body of `PATCH /recipients/{id}`. Absent fields keep their value.
#[derive(ToSchema)]
pub struct RecipientUpdate {
    /// At most 256 characters. `null` clears it.
    pub name: Option<String>,
    /// Replaces the recipient's products.
    #[schema(value_type = Vec<String>, required = false)]
    pub products: Option<Vec<String>>,
}

/// `data` with one recipient.
#[derive(ToSchema)]
pub struct RecipientData {
    pub recipient: Recipient,
}

/// `data` with a list of recipients.
#[derive(ToSchema)]
pub struct RecipientList {
    pub recipients: Vec<Recipient>,
}

// ---- SSH keys ----

/// `data` of a generated SSH key pair. The private key stays in scopegate,
/// encrypted, and a destination that names the public key can use it.
#[derive(ToSchema)]
pub struct SshKey {
    /// OpenSSH `ssh-rsa` form.
    pub public_key: String,
    /// PEM form.
    pub public_key_pkcs8: String,
}

// ---- Destination catalogue ----

/// A group of form fields, as `@prequel/react`'s `Section`.
#[derive(ToSchema)]
pub struct FormSection {
    pub id: u32,
    pub title: String,
    #[schema(required = true)]
    pub subtitle: Option<String>,
}

/// The value of an option in a select or radio node.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum EnumKey {
    Flag(bool),
    Number(i64),
    Text(String),
}

/// An option of a select or radio node, and an entry of the vendor list, as
/// `@prequel/react`'s `EnumObject`.
#[derive(ToSchema)]
pub struct EnumObject {
    pub key: EnumKey,
    pub display: String,
    #[schema(value_type = String, required = false)]
    pub docs: Option<String>,
    #[schema(value_type = String, required = false)]
    pub icon_url: Option<String>,
    #[schema(value_type = bool, required = false)]
    pub disabled: Option<bool>,
}

/// The option of the parent node under which a node is shown.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum FormParent {
    Flag(bool),
    Text(String),
}

/// Type of the value a form node sets.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum FormValueType {
    String,
    Number,
    Boolean,
    Json,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum FormElement {
    Select,
    Input,
    Radio,
    Textarea,
    Div,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum InputType {
    Text,
    Password,
    Number,
}

/// Encoding of a generated public key: OpenSSH `ssh-rsa` or PEM.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum KeyFormat {
    SshRsa,
    Pkcs8,
}

/// Presentation of a form node.
#[derive(ToSchema)]
pub struct FormAttributes {
    pub section_id: u32,
    pub internal: bool,
    pub label: String,
    pub placeholder: String,
    pub description: String,
    pub form_element: FormElement,
    #[schema(value_type = InputType, required = false)]
    pub input_type: Option<InputType>,
    #[schema(value_type = KeyFormat, required = false)]
    pub key_format: Option<KeyFormat>,
}

/// A node of the form tree, as `@prequel/react`'s `FormNode`.
#[derive(ToSchema)]
pub struct FormNode {
    pub parent: FormParent,
    pub name: String,
    pub required: bool,
    #[schema(rename = "type")]
    pub value_type: FormValueType,
    /// Options of a select or radio node.
    #[schema(rename = "enum", value_type = Vec<EnumObject>, required = false)]
    pub options: Option<Vec<EnumObject>>,
    /// Fixed value, such as a generated public key.
    #[schema(rename = "const", value_type = Value, required = false)]
    pub constant: Option<Value>,
    pub attributes: FormAttributes,
    #[schema(required = true, no_recursion)]
    pub children: Option<Vec<FormNode>>,
}

/// `data` of the form route, as `@prequel/react`'s `DestinationForm`.
#[derive(ToSchema)]
pub struct DestinationForm {
    pub sections: Vec<FormSection>,
    pub form: FormNode,
}

// ---- Signing keys ----

/// One public key of a JWK Set (RFC 7517, RFC 8037).
#[derive(ToSchema)]
pub struct Jwk {
    /// Always `OKP`.
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// Always `EdDSA`.
    pub alg: String,
    /// Always `sig`.
    #[schema(rename = "use")]
    pub key_use: String,
    pub kid: String,
    /// The public key, base64url without padding.
    pub x: String,
}

/// A JWK Set, not wrapped in the envelope.
#[derive(ToSchema)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// State of a signing key: `active` signs new tokens, `verifying` only
/// verifies tokens it signed earlier, `retired` does neither.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum SigningKeyState {
    Active,
    Verifying,
    Retired,
}

#[derive(ToSchema)]
pub struct SigningKey {
    pub kid: String,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub retired_at: Option<DateTime<Utc>>,
    pub state: SigningKeyState,
}

/// `data` with every signing key, oldest first.
#[derive(ToSchema)]
pub struct SigningKeyList {
    pub signing_keys: Vec<SigningKey>,
}

/// The signing key a rotation created.
#[derive(ToSchema)]
pub struct NewSigningKey {
    pub kid: String,
    pub created_at: DateTime<Utc>,
    /// Always `active`.
    pub state: SigningKeyState,
}

/// `data` of a signing-key rotation.
#[derive(ToSchema)]
pub struct SigningKeyRotation {
    pub signing_key: NewSigningKey,
}

// ---- API keys and audit events ----

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Environment {
    Staging,
    Production,
}

/// Role of an API key: `admin` keys also manage keys and read audit
/// events.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ApiKeyRole {
    Admin,
    Standard,
}

/// An API key, without its secret.
#[derive(ToSchema)]
pub struct ApiKey {
    pub id: Uuid,
    #[schema(required = true)]
    pub name: Option<String>,
    pub role: ApiKeyRole,
    pub environment: Environment,
    /// Leading characters of the key, to recognize it by.
    pub display_prefix: String,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub last_used_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub expires_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

/// Body of `POST /api-keys`.
#[derive(ToSchema)]
pub struct ApiKeyCreate {
    /// The caller's environment when absent.
    pub environment: Option<Environment>,
    /// At most 256 characters.
    pub name: Option<String>,
    /// `standard` when absent.
    pub role: Option<ApiKeyRole>,
}

/// Body of `POST /api-keys/{id}/rotate`.
#[derive(ToSchema)]
pub struct ApiKeyRotate {
    /// Seconds the old key keeps working, from 0 to 2592000 (30 days), or
    /// 86400 when absent. A rotation never extends an earlier expiry.
    #[schema(minimum = 0, maximum = 2592000)]
    pub grace_period_seconds: Option<i64>,
}

/// `data` with one API key.
#[derive(ToSchema)]
pub struct ApiKeyData {
    pub api_key: ApiKey,
}

/// `data` with the organization's API keys.
#[derive(ToSchema)]
pub struct ApiKeyList {
    pub api_keys: Vec<ApiKey>,
}

/// `data` of a key creation. `key` is the secret, returned only here.
#[derive(ToSchema)]
pub struct CreatedApiKey {
    pub api_key: ApiKey,
    pub key: String,
}

/// `data` of a key rotation: the new key with its secret, and the old key
/// with its new expiry.
#[derive(ToSchema)]
pub struct RotatedApiKey {
    pub api_key: ApiKey,
    pub key: String,
    pub previous_api_key: ApiKey,
}

/// An audit event.
#[derive(ToSchema)]
pub struct AuditEvent {
    pub id: Uuid,
    /// Such as `api_key.created`, `token.minted` or `token.denied`.
    pub action: String,
    pub environment: Environment,
    #[schema(required = true)]
    pub api_key_id: Option<Uuid>,
    #[schema(required = true)]
    pub recipient_id: Option<Uuid>,
    /// Action-specific members.
    pub details: HashMap<String, Value>,
    pub created_at: DateTime<Utc>,
}

/// `data` with a page of audit events, newest first.
#[derive(ToSchema)]
pub struct AuditEventList {
    pub audit_events: Vec<AuditEvent>,
}

// ---- Operations ----

/// Always `ok`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum HealthState {
    Ok,
}

/// `data` of `/healthz` and `/readyz`.
#[derive(ToSchema)]
pub struct Health {
    pub status: HealthState,
}
