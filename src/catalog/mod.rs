//! The destination catalogue: the vendors that `GET /public/destination-vendors`
//! lists and the form tree that the `useDestinationForm` hook of
//! `@prequel/react` renders.
//!
//! The catalogue is data compiled into the binary. `vendors.json` contains
//! the form sections and the `vendor` select at the root of the tree, whose
//! `enum` is the vendor list. `forms/<vendor>.json` contains the nodes below
//! that select for one vendor. [`catalog`] parses and checks the files on
//! first use.
//!
//! How the SDK (1.1.0) reads the tree: it walks down from the root and
//! includes a child only while the destination's value of the parent node's
//! `name` equals the child's `parent`. A field's `prepared_destination_path`
//! is the chain of `parent` values above it plus its own name, where `true`
//! becomes `ssh_tunnel` and `false` becomes `ssl_options`. The top-level
//! destination fields (`vendor`, `name`, `recipient_id`, `enabled_models`,
//! `frequency_minutes`, `is_enabled`) add no `parent`. So the `username`
//! node (parent `password_auth`) below the `auth_method` node (parent
//! `postgres`) is sent as `postgres.password_auth.username`. The hook also
//! inserts `bucket_gcs`, `bucket_s3`, `aws_access_keys` or `gcs_hmac_keys`
//! for bucket fields of some vendors, which is why the BigQuery and Redshift
//! bucket fields hang directly below the vendor.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::destination::SECRET_FIELDS;

const VENDORS_JSON: &str = include_str!("vendors.json");

/// The form subtree of each vendor, by vendor key.
const VENDOR_FORMS: [(&str, &str); 10] = [
    ("postgres", include_str!("forms/postgres.json")),
    ("mysql", include_str!("forms/mysql.json")),
    ("snowflake", include_str!("forms/snowflake.json")),
    ("bigquery", include_str!("forms/bigquery.json")),
    ("redshift", include_str!("forms/redshift.json")),
    ("databricks", include_str!("forms/databricks.json")),
    ("clickhouse", include_str!("forms/clickhouse.json")),
    ("s3", include_str!("forms/s3.json")),
    ("gcs", include_str!("forms/gcs.json")),
    ("abs", include_str!("forms/abs.json")),
];

/// Every member of the SDK's `Destination` type in `@prequel/react` 1.1.0
/// (`dist/types/destination.d.ts`) except the `type` tag. The SDK reads each
/// field's value from the destination member named like the node, so a node
/// name outside this list and [`EXTRA_NAMES`] could never hold a value.
const DESTINATION_FIELDS: [&str; 56] = [
    "name",
    "vendor",
    "id_in_provider_system",
    "recipient_id",
    "use_ssh_tunnel",
    "is_enabled",
    "created_at",
    "updated_at",
    "frequency_minutes",
    "host",
    "port",
    "cluster",
    "database",
    "schema",
    "username",
    "user",
    "password",
    "service_account_key",
    "auth_method",
    "bucket_auth_method",
    "file_format",
    "aws_iam_role_arn",
    "service_account_email",
    "workload_identity_federation_metadata",
    "bucket_vendor",
    "bucket_name",
    "bucket_region",
    "access_id",
    "access_key",
    "secret_key",
    "access_token",
    "ssh_tunnel_host",
    "ssh_tunnel_port",
    "ssh_tunnel_username",
    "ssh_public_key",
    "products",
    "enabled_models",
    "disable_ssl",
    "metastore",
    "authentication_database",
    "catalog",
    "connection_database",
    "container_name",
    "delimiter",
    "folder",
    "http_path",
    "project_id",
    "public_key",
    "secret",
    "service_account",
    "shared_access_signature_token",
    "storage_account_name",
    "wallet",
    "workgroup",
    "write_database",
    "connection_timeout_in_seconds",
];

/// Node names that the SDK's `FormNode` type allows besides the
/// `Destination` members.
const EXTRA_NAMES: [&str; 3] = ["trust_policy", "role", "service_account"];

/// Nodes that show a public key generated for the destination. The SDK sets
/// their `const` to that key, in the format that `key_format` names.
const PUBLIC_KEY_NAMES: [&str; 2] = ["ssh_public_key", "public_key"];

/// A group of form fields, as the SDK's `Section` type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub id: u32,
    pub title: String,
    pub subtitle: Option<String>,
}

/// The value of an option in a select or radio node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EnumKey {
    Flag(bool),
    Number(i64),
    Text(String),
}

/// An option of a select or radio node, and an entry of the vendor list, as
/// the SDK's `EnumObject` type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumObject {
    pub key: EnumKey,
    pub display: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// The option of the parent node under which a node is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Parent {
    Flag(bool),
    Text(String),
}

impl fmt::Display for EnumKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnumKey::Flag(flag) => write!(formatter, "{flag}"),
            EnumKey::Number(number) => write!(formatter, "{number}"),
            EnumKey::Text(text) => write!(formatter, "{text:?}"),
        }
    }
}

impl fmt::Display for Parent {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Parent::Flag(flag) => write!(formatter, "{flag}"),
            Parent::Text(text) => write!(formatter, "{text:?}"),
        }
    }
}

impl Parent {
    /// Reports whether the SDK shows a node with this parent when the parent
    /// node's value is `key`. The SDK compares with `===`.
    pub fn matches(&self, key: &EnumKey) -> bool {
        match (self, key) {
            (Parent::Flag(parent), EnumKey::Flag(key)) => parent == key,
            (Parent::Text(parent), EnumKey::Text(key)) => parent == key,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    String,
    Number,
    Boolean,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormElement {
    Select,
    Input,
    Radio,
    Textarea,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputType {
    Text,
    Password,
    Number,
}

/// Encoding of a generated public key: OpenSSH `ssh-rsa` or PEM
/// SubjectPublicKeyInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyFormat {
    SshRsa,
    Pkcs8,
}

/// Presentation of a form node. `internal` defaults to false and
/// `placeholder` and `description` to the empty string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attributes {
    pub section_id: u32,
    #[serde(default)]
    pub internal: bool,
    pub label: String,
    #[serde(default)]
    pub placeholder: String,
    #[serde(default)]
    pub description: String,
    pub form_element: FormElement,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_type: Option<InputType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_format: Option<KeyFormat>,
}

/// A node of the form tree, as the SDK's `FormNode` type. The root's
/// `parent` is not read by the SDK and is the empty string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormNode {
    pub parent: Parent,
    pub name: String,
    pub required: bool,
    #[serde(rename = "type")]
    pub value_type: ValueType,
    #[serde(rename = "enum", default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<EnumObject>>,
    #[serde(rename = "const", default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<Value>,
    pub attributes: Attributes,
    #[serde(default)]
    pub children: Option<Vec<FormNode>>,
}

impl FormNode {
    fn children(&self) -> &[FormNode] {
        self.children.as_deref().unwrap_or_default()
    }

    fn option_keys(&self) -> impl Iterator<Item = &EnumKey> {
        self.options.iter().flatten().map(|option| &option.key)
    }
}

/// The `data` of the form route, as the SDK's `DestinationForm` type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DestinationForm {
    pub sections: Vec<Section>,
    pub form: FormNode,
}

/// The layout of `vendors.json`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    sections: Vec<Section>,
    root: FormNode,
}

/// Every problem found in the embedded catalogue files.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the embedded destination catalogue is invalid: {}", .problems.join("; "))]
pub struct CatalogError {
    pub problems: Vec<String>,
}

/// The parsed and checked catalogue.
#[derive(Debug)]
pub struct Catalog {
    vendors: Vec<EnumObject>,
    full_form: DestinationForm,
    vendor_forms: Vec<(String, DestinationForm)>,
}

static CATALOG: LazyLock<Result<Catalog, CatalogError>> =
    LazyLock::new(|| Catalog::parse(VENDORS_JSON, &VENDOR_FORMS));

/// Returns the catalogue compiled into the binary, parsing it on first use.
/// The unit tests of this module check that the shipped files parse, so an
/// error here means that the files were edited without running those tests.
pub fn catalog() -> Result<&'static Catalog, CatalogError> {
    CATALOG.as_ref().map_err(Clone::clone)
}

impl Catalog {
    /// Parses `vendors_json` and the `(vendor key, JSON)` pairs of
    /// `vendor_forms`, assembles the tree and checks it.
    pub fn parse(vendors_json: &str, vendor_forms: &[(&str, &str)]) -> Result<Self, CatalogError> {
        let CatalogFile { sections, mut root } =
            serde_json::from_str(vendors_json).map_err(|error| CatalogError {
                problems: vec![format!("vendors.json: {error}")],
            })?;
        let mut problems = Vec::new();
        if root.children.is_some() {
            problems.push(
                "vendors.json: the root node must not list children, because they come from \
                 forms/<vendor>.json"
                    .to_owned(),
            );
        }

        let vendors = root.options.clone().unwrap_or_default();
        let mut children = Vec::new();
        for vendor in &vendors {
            let EnumKey::Text(key) = &vendor.key else {
                problems.push(format!(
                    "vendors.json: vendor key {} is not a string",
                    vendor.key
                ));
                continue;
            };
            let Some((_, json)) = vendor_forms.iter().find(|(name, _)| name == key) else {
                problems.push(format!(
                    "vendor {key} has no entry in VENDOR_FORMS. Add forms/{key}.json there"
                ));
                continue;
            };
            match serde_json::from_str::<Vec<FormNode>>(json) {
                Ok(nodes) => {
                    check_vendor_file(key, &nodes, &mut problems);
                    children.extend(nodes);
                }
                Err(error) => problems.push(format!("forms/{key}.json: {error}")),
            }
        }
        for (name, _) in vendor_forms {
            let key = EnumKey::Text((*name).to_owned());
            if !vendors.iter().any(|vendor| vendor.key == key) {
                problems.push(format!(
                    "forms/{name}.json belongs to no vendor in vendors.json"
                ));
            }
        }

        root.children = Some(children);
        let full_form = DestinationForm {
            sections,
            form: root,
        };
        check_form(&full_form, &mut problems);
        if !problems.is_empty() {
            return Err(CatalogError { problems });
        }

        let vendor_forms = vendors
            .iter()
            .filter_map(|vendor| match &vendor.key {
                EnumKey::Text(key) => Some((key.clone(), narrow_to_vendor(&full_form, vendor))),
                _ => None,
            })
            .collect();
        Ok(Catalog {
            vendors,
            full_form,
            vendor_forms,
        })
    }

    /// Returns the vendor list, in display order.
    pub fn vendors(&self) -> &[EnumObject] {
        &self.vendors
    }

    /// Returns the form tree of every vendor.
    pub fn form(&self) -> &DestinationForm {
        &self.full_form
    }

    /// Returns the form tree narrowed to `vendor`, or `None` for an unknown
    /// key.
    pub fn vendor_form(&self, vendor: &str) -> Option<&DestinationForm> {
        self.vendor_forms
            .iter()
            .find(|(key, _)| key == vendor)
            .map(|(_, form)| form)
    }
}

/// Copies `full` with the root select offering only `vendor`, only that
/// vendor's subtree below it, and only the sections that subtree uses.
fn narrow_to_vendor(full: &DestinationForm, vendor: &EnumObject) -> DestinationForm {
    let mut root = full.form.clone();
    root.options = Some(vec![vendor.clone()]);
    root.children = Some(
        full.form
            .children()
            .iter()
            .filter(|node| node.parent.matches(&vendor.key))
            .cloned()
            .collect(),
    );

    let mut used = HashSet::new();
    collect_section_ids(&root, &mut used);
    let sections = full
        .sections
        .iter()
        .filter(|section| used.contains(&section.id))
        .cloned()
        .collect();
    DestinationForm {
        sections,
        form: root,
    }
}

fn collect_section_ids(node: &FormNode, ids: &mut HashSet<u32>) {
    ids.insert(node.attributes.section_id);
    for child in node.children() {
        collect_section_ids(child, ids);
    }
}

/// Checks that every top-level node of `forms/<vendor>.json` hangs below
/// that vendor's option of the root select.
fn check_vendor_file(vendor: &str, nodes: &[FormNode], problems: &mut Vec<String>) {
    if nodes.is_empty() {
        problems.push(format!("forms/{vendor}.json lists no fields"));
    }
    for node in nodes {
        if node.parent != Parent::Text(vendor.to_owned()) {
            problems.push(format!(
                "forms/{vendor}.json: node {} has parent {}, but every top-level node needs \
                 parent {vendor:?}",
                node.name, node.parent
            ));
        }
    }
}

/// Checks the assembled tree against the SDK's types and against the rules
/// that make every field reachable and every path unambiguous.
fn check_form(form: &DestinationForm, problems: &mut Vec<String>) {
    let mut section_ids = HashSet::new();
    for section in &form.sections {
        if !section_ids.insert(section.id) {
            problems.push(format!("section id {} is used twice", section.id));
        }
    }

    let root = &form.form;
    if root.name != "vendor" || root.attributes.form_element != FormElement::Select {
        problems.push("the root node must be the vendor select".to_owned());
    }
    if root.options.as_ref().is_none_or(Vec::is_empty) {
        problems.push("the vendor select lists no vendors".to_owned());
    }
    check_node(root, "vendor", &section_ids, problems);

    for key in root.option_keys() {
        let subtree = root
            .children()
            .iter()
            .filter(|node| node.parent.matches(key));
        for names in combine_visible_names(subtree) {
            let mut seen = HashSet::new();
            for name in names {
                if !seen.insert(name) {
                    problems.push(format!(
                        "vendor {key}: field {name} can be shown twice at once, so both \
                         copies would read and write the same destination member"
                    ));
                }
            }
        }
    }
}

/// Checks one node and, recursively, its children. `location` names the
/// node in messages, as `parent/name` steps from the root.
fn check_node(
    node: &FormNode,
    location: &str,
    section_ids: &HashSet<u32>,
    problems: &mut Vec<String>,
) {
    let name = node.name.as_str();
    let is_root = location == "vendor";
    let mut found = Vec::new();
    let mut problem = |message: String| found.push(message);

    let known = DESTINATION_FIELDS.contains(&name) || EXTRA_NAMES.contains(&name);
    if !known || (name == "vendor" && !is_root) {
        problem(format!(
            "name {name} is not a member of the SDK's Destination type"
        ));
    }
    if !is_root && node.parent == Parent::Text(String::new()) {
        problem("parent must not be empty".to_owned());
    }
    if !section_ids.contains(&node.attributes.section_id) {
        problem(format!(
            "section_id {} names no section",
            node.attributes.section_id
        ));
    }

    let element = node.attributes.form_element;
    let has_options = node
        .options
        .as_ref()
        .is_some_and(|options| !options.is_empty());
    match element {
        FormElement::Select | FormElement::Radio if !has_options => {
            problem(format!(
                "a {} needs at least one enum option",
                json_name(&element)
            ));
        }
        FormElement::Input | FormElement::Textarea | FormElement::Div if node.options.is_some() => {
            problem(format!(
                "a {} must not have enum options",
                json_name(&element)
            ));
        }
        _ => {}
    }
    let mut keys_seen: Vec<&EnumKey> = Vec::new();
    for key in node.option_keys() {
        if keys_seen.contains(&key) {
            problem(format!("enum key {key} is listed twice"));
        }
        keys_seen.push(key);
        let fits_type = matches!(
            (node.value_type, key),
            (ValueType::Boolean, EnumKey::Flag(_))
                | (ValueType::Number, EnumKey::Number(_))
                | (ValueType::String, EnumKey::Text(_))
        );
        if !fits_type {
            problem(format!(
                "enum key {key} does not fit type {}",
                json_name(&node.value_type)
            ));
        }
    }

    let input_type = node.attributes.input_type;
    match (element, input_type) {
        (FormElement::Input, None) => problem("an input needs input_type".to_owned()),
        (FormElement::Input, Some(input_type)) => {
            let numeric = node.value_type == ValueType::Number;
            if numeric != (input_type == InputType::Number) {
                problem("input_type number goes with type number and only with it".to_owned());
            }
        }
        (_, Some(_)) => problem("only an input may set input_type".to_owned()),
        (_, None) => {}
    }
    let is_secret = SECRET_FIELDS.contains(&name);
    if is_secret && element != FormElement::Textarea && input_type != Some(InputType::Password) {
        problem("a secret needs input_type password or a textarea".to_owned());
    }
    let shows_public_key = PUBLIC_KEY_NAMES.contains(&name);
    if shows_public_key != node.attributes.key_format.is_some() {
        problem("key_format goes with ssh_public_key and public_key and only with them".to_owned());
    }
    for child in node.children() {
        if !node.option_keys().any(|key| child.parent.matches(key)) {
            problem(format!(
                "child {} has parent {}, which is none of this node's enum keys, so the SDK \
                 never shows it",
                child.name, child.parent
            ));
        }
    }
    problems.extend(
        found
            .into_iter()
            .map(|message| format!("{location}: {message}")),
    );

    for child in node.children() {
        let child_location = format!("{location} > {}/{}", child.parent, child.name);
        check_node(child, &child_location, section_ids, problems);
    }
}

/// Returns how `value`, a unit enum variant, is spelled in the JSON files.
fn json_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(name)) => name,
        _ => String::new(),
    }
}

/// Lists the names of the fields that the SDK can show at the same time for
/// `node` and its descendants, one list for each combination of choices.
fn visible_names(node: &FormNode) -> Vec<Vec<&str>> {
    let mut lists = Vec::new();
    for key in node.option_keys() {
        let visible_children = node
            .children()
            .iter()
            .filter(|child| child.parent.matches(key));
        for names in combine_visible_names(visible_children) {
            let mut list = vec![node.name.as_str()];
            list.extend(names);
            lists.push(list);
        }
    }
    if lists.is_empty() {
        lists.push(vec![node.name.as_str()]);
    }
    lists
}

/// Lists the names that can be shown at the same time for a group of
/// sibling nodes that are all shown: every combination of their
/// [`visible_names`].
fn combine_visible_names<'a>(nodes: impl Iterator<Item = &'a FormNode>) -> Vec<Vec<&'a str>> {
    let mut combinations: Vec<Vec<&str>> = vec![Vec::new()];
    for node in nodes {
        let variants = visible_names(node);
        combinations = combinations
            .iter()
            .flat_map(|prefix| {
                variants
                    .iter()
                    .map(move |variant| [prefix.as_slice(), variant.as_slice()].concat())
            })
            .collect();
    }
    combinations
}

#[cfg(test)]
mod tests {
    use super::*;

    const VENDOR_KEYS: [&str; 10] = [
        "postgres",
        "mysql",
        "snowflake",
        "bigquery",
        "redshift",
        "databricks",
        "clickhouse",
        "s3",
        "gcs",
        "abs",
    ];

    fn shipped() -> &'static Catalog {
        match catalog() {
            Ok(catalog) => catalog,
            Err(error) => panic!("{}", error.problems.join("\n")),
        }
    }

    fn text_keys(node: &FormNode) -> Vec<&str> {
        node.option_keys()
            .filter_map(|key| match key {
                EnumKey::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Finds the node that the SDK shows for `name` when the ancestors take
    /// the values in `choices`, a list of `(node name, value)` pairs.
    fn find<'a>(node: &'a FormNode, choices: &[(&str, &str)], name: &str) -> Option<&'a FormNode> {
        if node.name == name {
            return Some(node);
        }
        let (_, choice) = choices.iter().find(|(field, _)| *field == node.name)?;
        let key = EnumKey::Text((*choice).to_owned());
        node.children()
            .iter()
            .filter(|child| child.parent.matches(&key))
            .find_map(|child| find(child, choices, name))
    }

    #[test]
    fn shipped_catalogue_is_valid() {
        let catalog = shipped();
        let keys: Vec<&str> = catalog
            .vendors()
            .iter()
            .map(|vendor| match &vendor.key {
                EnumKey::Text(key) => key.as_str(),
                other => panic!("vendor key {other:?} is not a string"),
            })
            .collect();
        assert_eq!(keys, VENDOR_KEYS);
        for vendor in catalog.vendors() {
            assert!(!vendor.display.is_empty(), "{vendor:?} has no display name");
            let docs = vendor.docs.as_deref().unwrap_or_default();
            assert!(docs.starts_with("https://"), "{vendor:?} has no docs link");
        }
    }

    #[test]
    fn every_vendor_has_a_subtree() {
        let catalog = shipped();
        for key in VENDOR_KEYS {
            let form = catalog
                .vendor_form(key)
                .unwrap_or_else(|| panic!("no form for {key}"));
            assert_eq!(text_keys(&form.form), [key]);
            assert!(!form.form.children().is_empty(), "{key} has no fields");
            for node in form.form.children() {
                assert_eq!(node.parent, Parent::Text(key.to_owned()), "{key}");
            }
            let names: Vec<&str> = form
                .form
                .children()
                .iter()
                .map(|node| node.name.as_str())
                .collect();
            assert!(names.contains(&"name"), "{key} has no name field");
            assert!(names.contains(&"auth_method"), "{key} has no auth_method");
        }
        assert!(catalog.vendor_form("oracle").is_none());
    }

    #[test]
    fn narrowed_form_keeps_used_sections() {
        let catalog = shipped();
        let s3 = catalog.vendor_form("s3").unwrap();
        let ids: Vec<u32> = s3.sections.iter().map(|section| section.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(catalog.form().sections.len(), 5);
    }

    #[test]
    fn auth_methods_match_sdk_values() {
        let catalog = shipped();
        let expected: [(&str, &[&str]); 10] = [
            ("postgres", &["password_auth"]),
            ("mysql", &["password_auth"]),
            ("snowflake", &["password_auth", "public_key_auth"]),
            (
                "bigquery",
                &[
                    "gcp_service_account_role",
                    "gcp_service_account_key",
                    "federated_gcp_service_account_role",
                ],
            ),
            ("redshift", &["aws_iam_role", "aws_access_keys"]),
            ("databricks", &["access_token_auth"]),
            ("clickhouse", &["password_auth"]),
            ("s3", &["aws_iam_role", "aws_access_keys"]),
            ("gcs", &["gcp_service_account_role", "gcs_hmac_keys"]),
            ("abs", &["azure_service_shared_access_signature"]),
        ];
        for (vendor, methods) in expected {
            let root = &catalog.vendor_form(vendor).unwrap().form;
            let auth = find(root, &[("vendor", vendor)], "auth_method").unwrap();
            assert_eq!(text_keys(auth), methods, "{vendor}");
        }
    }

    #[test]
    fn ssh_tunnel_fields_follow_sdk() {
        let catalog = shipped();
        for vendor in ["postgres", "mysql"] {
            let root = &catalog.vendor_form(vendor).unwrap().form;
            let tunnel = find(root, &[("vendor", vendor)], "use_ssh_tunnel").unwrap();
            assert_eq!(tunnel.value_type, ValueType::Boolean);
            let names: Vec<&str> = tunnel
                .children()
                .iter()
                .inspect(|child| assert_eq!(child.parent, Parent::Flag(true), "{vendor}"))
                .map(|child| child.name.as_str())
                .collect();
            assert_eq!(
                names,
                [
                    "ssh_tunnel_host",
                    "ssh_tunnel_port",
                    "ssh_tunnel_username",
                    "ssh_public_key"
                ]
            );
            let key = tunnel.children().last().unwrap();
            assert_eq!(key.attributes.key_format, Some(KeyFormat::SshRsa));
        }
    }

    #[test]
    fn staging_buckets_follow_sdk() {
        let catalog = shipped();
        let clickhouse = &catalog.vendor_form("clickhouse").unwrap().form;
        let bucket_vendor = find(clickhouse, &[("vendor", "clickhouse")], "bucket_vendor").unwrap();
        assert_eq!(
            text_keys(bucket_vendor),
            ["bucket_s3", "bucket_gcs", "bucket_implicit"]
        );

        let databricks = &catalog.vendor_form("databricks").unwrap().form;
        let choices = [
            ("vendor", "databricks"),
            ("metastore", "hive"),
            ("bucket_vendor", "bucket_s3"),
        ];
        for name in ["bucket_name", "bucket_region", "access_id", "secret_key"] {
            let node = find(databricks, &choices, name);
            assert!(node.is_some(), "databricks hive has no {name}");
        }

        for vendor in ["bigquery", "redshift"] {
            let root = &catalog.vendor_form(vendor).unwrap().form;
            for name in ["bucket_name", "bucket_region"] {
                let node = find(root, &[("vendor", vendor)], name).unwrap();
                assert_eq!(node.attributes.section_id, 4, "{vendor} {name}");
            }
        }
    }

    #[test]
    fn serializes_sdk_form_node() {
        let catalog = shipped();
        let postgres = &catalog.vendor_form("postgres").unwrap().form;
        let password = find(
            postgres,
            &[("vendor", "postgres"), ("auth_method", "password_auth")],
            "password",
        )
        .unwrap();
        let json = serde_json::to_value(password).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "parent": "password_auth",
                "name": "password",
                "required": true,
                "type": "string",
                "attributes": {
                    "section_id": 3,
                    "internal": false,
                    "label": "Password",
                    "placeholder": "",
                    "description": "Password of the database user.",
                    "form_element": "input",
                    "input_type": "password",
                },
                "children": null,
            })
        );
    }

    fn parse_with(vendors_json: &str, forms: &[(&str, &str)]) -> Vec<String> {
        match Catalog::parse(vendors_json, forms) {
            Ok(_) => Vec::new(),
            Err(error) => error.problems,
        }
    }

    fn mutate_postgres(edit: impl FnOnce(&mut Value)) -> Vec<String> {
        let mut postgres: Value = serde_json::from_str(VENDOR_FORMS[0].1).unwrap();
        edit(&mut postgres);
        let text = postgres.to_string();
        let mut forms = VENDOR_FORMS.to_vec();
        forms[0].1 = &text;
        parse_with(VENDORS_JSON, &forms)
    }

    fn assert_problem(problems: &[String], fragment: &str) {
        assert!(
            problems.iter().any(|problem| problem.contains(fragment)),
            "no problem mentions {fragment:?}: {problems:?}"
        );
    }

    #[test]
    fn rejects_missing_vendor_file() {
        let problems = parse_with(VENDORS_JSON, &VENDOR_FORMS[1..]);
        assert_problem(&problems, "vendor postgres has no entry in VENDOR_FORMS");
    }

    #[test]
    fn rejects_unknown_section() {
        let problems = mutate_postgres(|nodes| nodes[1]["attributes"]["section_id"] = 9.into());
        assert_problem(&problems, "section_id 9 names no section");
    }

    #[test]
    fn rejects_unknown_name() {
        let problems = mutate_postgres(|nodes| nodes[1]["name"] = "hostname".into());
        assert_problem(&problems, "name hostname is not a member");
    }

    #[test]
    fn rejects_unreachable_child() {
        let problems = mutate_postgres(|nodes| {
            let auth = nodes
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|node| node["name"] == "auth_method")
                .unwrap();
            auth["children"][0]["parent"] = "pasword_auth".into();
        });
        assert_problem(&problems, "the SDK never shows it");
    }

    #[test]
    fn rejects_plain_text_secret() {
        let problems = mutate_postgres(|nodes| {
            let auth = nodes
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|node| node["name"] == "auth_method")
                .unwrap();
            auth["children"][1]["attributes"]["input_type"] = "text".into();
        });
        assert_problem(&problems, "a secret needs input_type password");
    }

    #[test]
    fn rejects_field_shown_twice() {
        let problems = mutate_postgres(|nodes| {
            let host = nodes[1].clone();
            nodes.as_array_mut().unwrap().push(host);
        });
        assert_problem(&problems, "field host can be shown twice");
    }

    #[test]
    fn rejects_misplaced_top_level_node() {
        let problems = mutate_postgres(|nodes| nodes[1]["parent"] = "mysql".into());
        assert_problem(&problems, "every top-level node needs parent \"postgres\"");
    }

    #[test]
    fn rejects_unknown_attribute() {
        let problems = mutate_postgres(|nodes| nodes[1]["attributes"]["hint"] = "x".into());
        assert_problem(&problems, "forms/postgres.json: unknown field `hint`");
    }
}
