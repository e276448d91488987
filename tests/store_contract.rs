//! Behavior every `Store` backend must share. Each case runs once on
//! PostgreSQL and once on SQLite, each time on a fresh database.

mod common;

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use common::db::{Backend, TestDb};
use scopegate::store::{
    ApiKeyRecord, ApiKeyRole, AuditEvent, AuditFilter, Destination, Environment, Model, NewApiKey,
    NewDestination, Organization, Page, Product, Recipient, SealedKind, SealedValue,
    SigningKeyRecord, SshKeyRecord, StoreError, StoreResult, Tenant, Transfer, TransferFilter,
    TransferStatus,
};
use serde_json::json;
use tokio::task::JoinError;
use uuid::Uuid;

/// Number of tasks that write at the same time in the concurrency case.
const CONCURRENT_TASKS: usize = 48;
/// Rounds of writes each of those tasks performs.
const ROUNDS_PER_TASK: usize = 4;

/// Generates one `#[tokio::test]` per `test_name => case_function` pair. The
/// test runs the case on every backend in turn and names the backend when
/// the case panics.
macro_rules! contract_tests {
    ($($test:ident => $case:ident),+ $(,)?) => {
        mod contract {
            use super::common::db::{Backend, TestDb};

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    for backend in Backend::ALL {
                        let outcome = tokio::spawn(async move {
                            let db = TestDb::new(backend).await;
                            super::$case(&db).await;
                        })
                        .await;
                        super::fail_on_panic(backend, outcome);
                    }
                }
            )+
        }
    };
}

contract_tests! {
    migrate_twice => case_migrate_twice,
    organization_ensure => case_organization_ensure,
    api_key_roundtrip => case_api_key_roundtrip,
    api_key_duplicate => case_api_key_duplicate,
    api_key_unknown_organization => case_api_key_unknown_organization,
    api_key_list_order => case_api_key_list_order,
    api_key_revoke => case_api_key_revoke,
    recipient_upsert => case_recipient_upsert,
    recipient_tenant_isolation => case_recipient_tenant_isolation,
    destination_roundtrip => case_destination_roundtrip,
    destination_duplicate_id => case_destination_duplicate_id,
    destination_tenant_isolation => case_destination_tenant_isolation,
    destination_foreign_recipient => case_destination_foreign_recipient,
    destination_list_order => case_destination_list_order,
    signing_keys => case_signing_keys,
    allowed_origins => case_allowed_origins,
    concurrent_writers => case_concurrent_writers,
    destination_update => case_destination_update,
    destination_update_stale => case_destination_update_stale,
    destination_update_concurrent => case_destination_update_concurrent,
    destination_update_isolation => case_destination_update_isolation,
    destination_delete => case_destination_delete,
    transfer_roundtrip => case_transfer_roundtrip,
    transfer_foreign_destination => case_transfer_foreign_destination,
    transfer_update => case_transfer_update,
    transfer_update_stale => case_transfer_update_stale,
    transfer_update_concurrent => case_transfer_update_concurrent,
    transfer_tenant_isolation => case_transfer_tenant_isolation,
    transfer_pages_ascending => case_transfer_pages_ascending,
    transfer_pages_descending => case_transfer_pages_descending,
    transfer_list_filters => case_transfer_list_filters,
    model_roundtrip => case_model_roundtrip,
    model_duplicate_name => case_model_duplicate_name,
    model_update => case_model_update,
    model_tenant_isolation => case_model_tenant_isolation,
    model_delete => case_model_delete,
    product_roundtrip => case_product_roundtrip,
    product_duplicate_name => case_product_duplicate_name,
    product_unknown_model => case_product_unknown_model,
    product_update => case_product_update,
    product_tenant_isolation => case_product_tenant_isolation,
    product_delete => case_product_delete,
    recipient_products_set => case_recipient_products_set,
    recipient_products_isolation => case_recipient_products_isolation,
    models_for_recipient => case_models_for_recipient,
    ssh_keys => case_ssh_keys,
    api_key_role_roundtrip => case_api_key_role_roundtrip,
    api_key_get => case_api_key_get,
    api_key_expiry => case_api_key_expiry,
    api_key_touch => case_api_key_touch,
    signing_key_retire => case_signing_key_retire,
    audit_event_roundtrip => case_audit_event_roundtrip,
    audit_event_isolation => case_audit_event_isolation,
    audit_event_pages => case_audit_event_pages,
    audit_event_filters => case_audit_event_filters,
    recipient_insert => case_recipient_insert,
    recipient_rename => case_recipient_rename,
    recipient_pages => case_recipient_pages,
    recipient_list_filter => case_recipient_list_filter,
    recipient_delete => case_recipient_delete,
    recipient_delete_conflict => case_recipient_delete_conflict,
    recipient_delete_cascade => case_recipient_delete_cascade,
    recipient_delete_isolation => case_recipient_delete_isolation,
    destination_pages => case_destination_pages,
    destination_list_isolation => case_destination_list_isolation,
    sealed_values_list => case_sealed_values_list,
    sealed_value_replace => case_sealed_value_replace,
}

/// Re-raises a panic of a case with the backend it ran on.
fn fail_on_panic(backend: Backend, outcome: Result<(), JoinError>) {
    let Err(error) = outcome else {
        return;
    };
    if !error.is_panic() {
        panic!("{backend} backend: the case task was cancelled: {error}");
    }
    let payload = error.into_panic();
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("non-text panic payload");
    panic!("{backend} backend: {message}");
}

/// Returns the current time at microsecond precision, the precision that
/// PostgreSQL keeps, so values read back compare equal on both backends.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Returns a whole second, so offsets of 1 µs and 500 ms from it produce
/// RFC 3339 texts with 0, 6 and 3 fraction digits.
fn whole_second() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

fn random_hash() -> [u8; 32] {
    let mut hash = [0u8; 32];
    hash[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    hash[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    hash
}

fn staging(organization: &Organization) -> Tenant {
    Tenant {
        organization_id: organization.id,
        environment: Environment::Staging,
    }
}

fn production(organization: &Organization) -> Tenant {
    Tenant {
        organization_id: organization.id,
        environment: Environment::Production,
    }
}

fn unknown_tenant() -> Tenant {
    Tenant {
        organization_id: Uuid::new_v4(),
        environment: Environment::Staging,
    }
}

async fn organization(db: &TestDb, name: &str) -> Organization {
    db.store
        .ensure_organization(name)
        .await
        .expect("ensure_organization failed")
}

fn new_api_key(tenant: Tenant, created_at: DateTime<Utc>) -> NewApiKey {
    NewApiKey {
        id: Uuid::new_v4(),
        tenant,
        name: Some("ci deploy".to_owned()),
        role: ApiKeyRole::Standard,
        key_hash: random_hash(),
        display_prefix: "sg_test_ab12".to_owned(),
        created_at,
    }
}

fn new_destination(
    tenant: Tenant,
    recipient_id: Uuid,
    created_at: DateTime<Utc>,
) -> NewDestination {
    NewDestination {
        id: Uuid::new_v4(),
        tenant,
        recipient_id,
        vendor: "bigquery".to_owned(),
        name: "Warehouse".to_owned(),
        details: json!({"project_id": "acme-analytics", "dataset": "exports", "rows": [1, 2]}),
        secrets: Some(vec![0, 1, 2, 254, 255]),
        created_at,
    }
}

fn destination_ids(destinations: &[Destination]) -> Vec<Uuid> {
    destinations
        .iter()
        .map(|destination| destination.id)
        .collect()
}

async fn case_migrate_twice(db: &TestDb) {
    db.store
        .migrate()
        .await
        .expect("a second migrate should find nothing to apply");
    db.store.ping().await.expect("ping after migrate failed");
}

async fn case_organization_ensure(db: &TestDb) {
    let missing = db
        .store
        .find_organization("acme")
        .await
        .expect("find_organization failed");
    assert_eq!(missing, None);

    let created = organization(db, "acme").await;
    assert_eq!(created.name, "acme");

    let again = organization(db, "acme").await;
    assert_eq!(
        again, created,
        "ensure_organization must return the existing row"
    );

    let found = db
        .store
        .find_organization("acme")
        .await
        .expect("find_organization failed");
    assert_eq!(found, Some(created.clone()));

    let other = organization(db, "globex").await;
    assert_ne!(other.id, created.id);
    assert_eq!(other.name, "globex");
}

async fn case_api_key_roundtrip(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let key = new_api_key(staging(&acme), now());

    let record = db
        .store
        .insert_api_key(&key)
        .await
        .expect("insert_api_key failed");
    assert_eq!(record.id, key.id);
    assert_eq!(record.tenant, key.tenant);
    assert_eq!(record.name, key.name);
    assert_eq!(record.display_prefix, key.display_prefix);
    assert_eq!(record.created_at, key.created_at);
    assert_eq!(record.last_used_at, None);
    assert_eq!(record.expires_at, None);
    assert_eq!(record.revoked_at, None);

    let found = db
        .store
        .find_api_key_by_hash(&key.key_hash)
        .await
        .expect("find_api_key_by_hash failed");
    assert_eq!(found, Some(record));

    let unknown = db
        .store
        .find_api_key_by_hash(&random_hash())
        .await
        .expect("find_api_key_by_hash failed");
    assert_eq!(unknown, None);

    let unnamed = NewApiKey {
        name: None,
        ..new_api_key(production(&acme), now())
    };
    let unnamed_record = db
        .store
        .insert_api_key(&unnamed)
        .await
        .expect("insert_api_key without a name failed");
    assert_eq!(unnamed_record.name, None);
    assert_eq!(unnamed_record.tenant.environment, Environment::Production);
}

async fn case_api_key_duplicate(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let first = new_api_key(staging(&acme), now());
    db.store
        .insert_api_key(&first)
        .await
        .expect("insert_api_key failed");

    let same_hash = NewApiKey {
        id: Uuid::new_v4(),
        ..first.clone()
    };
    let result = db.store.insert_api_key(&same_hash).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "duplicate key hash: expected Conflict, got {result:?}"
    );

    let same_id = NewApiKey {
        key_hash: random_hash(),
        ..first.clone()
    };
    let result = db.store.insert_api_key(&same_id).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "duplicate key id: expected Conflict, got {result:?}"
    );

    let keys = db
        .store
        .list_api_keys(acme.id)
        .await
        .expect("list_api_keys failed");
    assert_eq!(keys.len(), 1, "rejected inserts must not add rows");
}

async fn case_api_key_unknown_organization(db: &TestDb) {
    let key = new_api_key(unknown_tenant(), now());
    let result = db.store.insert_api_key(&key).await;
    assert!(
        matches!(result, Err(StoreError::NotFound(_))),
        "unknown organization: expected NotFound, got {result:?}"
    );
}

async fn case_api_key_list_order(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let start = whole_second();

    let latest = new_api_key(staging(&acme), start + TimeDelta::milliseconds(500));
    let earliest = new_api_key(production(&acme), start);
    let middle = new_api_key(staging(&acme), start + TimeDelta::microseconds(1));
    let foreign = new_api_key(staging(&globex), start);
    for key in [&latest, &earliest, &middle, &foreign] {
        db.store
            .insert_api_key(key)
            .await
            .expect("insert_api_key failed");
    }

    let listed = db
        .store
        .list_api_keys(acme.id)
        .await
        .expect("list_api_keys failed");
    let ids: Vec<Uuid> = listed.iter().map(|key| key.id).collect();
    assert_eq!(
        ids,
        vec![earliest.id, middle.id, latest.id],
        "keys of both environments, oldest first"
    );

    let globex_keys = db
        .store
        .list_api_keys(globex.id)
        .await
        .expect("list_api_keys failed");
    assert_eq!(globex_keys.len(), 1);
    assert_eq!(globex_keys[0].id, foreign.id);

    let none = db
        .store
        .list_api_keys(Uuid::new_v4())
        .await
        .expect("list_api_keys for an unknown organization failed");
    assert!(none.is_empty());
}

async fn case_api_key_revoke(db: &TestDb) {
    let unknown = db
        .store
        .revoke_api_key(Uuid::new_v4())
        .await
        .expect("revoke_api_key of an unknown id failed");
    assert_eq!(unknown, None);

    let acme = organization(db, "acme").await;
    let key = new_api_key(staging(&acme), now());
    let inserted = db
        .store
        .insert_api_key(&key)
        .await
        .expect("insert_api_key failed");
    assert!(inserted.is_usable(Utc::now()));

    let revoked = db
        .store
        .revoke_api_key(key.id)
        .await
        .expect("revoke_api_key failed")
        .expect("revoke_api_key returned None for an existing key");
    let first_revoked_at = revoked.revoked_at.expect("revoked_at is not set");
    assert_eq!(revoked.id, key.id);
    assert_eq!(revoked.created_at, inserted.created_at);
    assert!(!revoked.is_usable(Utc::now()));

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let again = db
        .store
        .revoke_api_key(key.id)
        .await
        .expect("second revoke_api_key failed")
        .expect("second revoke_api_key returned None");
    assert_eq!(
        again.revoked_at,
        Some(first_revoked_at),
        "a second revoke must keep the first revocation time"
    );

    let found = db
        .store
        .find_api_key_by_hash(&key.key_hash)
        .await
        .expect("find_api_key_by_hash failed")
        .expect("revoked key is missing");
    assert_eq!(found.revoked_at, Some(first_revoked_at));
}

async fn case_recipient_upsert(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);

    let created = db
        .store
        .upsert_recipient(tenant, "user-1")
        .await
        .expect("upsert_recipient failed");
    assert_eq!(created.tenant, tenant);
    assert_eq!(created.id_in_provider_system, "user-1");

    let again = db
        .store
        .upsert_recipient(tenant, "user-1")
        .await
        .expect("second upsert_recipient failed");
    assert_eq!(
        again, created,
        "upsert_recipient must return the existing row"
    );

    let other = db
        .store
        .upsert_recipient(tenant, "user-2")
        .await
        .expect("upsert_recipient failed");
    assert_ne!(other.id, created.id);

    let found = db
        .store
        .get_recipient(tenant, created.id)
        .await
        .expect("get_recipient failed");
    assert_eq!(found, Some(created.clone()));

    let unknown = db
        .store
        .get_recipient(tenant, Uuid::new_v4())
        .await
        .expect("get_recipient of an unknown id failed");
    assert_eq!(unknown, None);

    let by_provider_id = db
        .store
        .find_recipient(tenant, "user-1")
        .await
        .expect("find_recipient failed");
    assert_eq!(by_provider_id, Some(created));

    let missing = db
        .store
        .find_recipient(tenant, "user-3")
        .await
        .expect("find_recipient of an unknown id failed");
    assert_eq!(missing, None);
}

async fn case_recipient_tenant_isolation(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;

    let acme_staging = db
        .store
        .upsert_recipient(staging(&acme), "user-1")
        .await
        .expect("upsert_recipient failed");
    let acme_production = db
        .store
        .upsert_recipient(production(&acme), "user-1")
        .await
        .expect("upsert_recipient failed");
    let globex_staging = db
        .store
        .upsert_recipient(staging(&globex), "user-1")
        .await
        .expect("upsert_recipient failed");
    let ids: HashSet<Uuid> = [acme_staging.id, acme_production.id, globex_staging.id]
        .into_iter()
        .collect();
    assert_eq!(
        ids.len(),
        3,
        "one provider id yields one recipient per tenant"
    );
    assert_eq!(acme_production.tenant, production(&acme));
    assert_eq!(globex_staging.tenant, staging(&globex));

    let from_other_environment = db
        .store
        .get_recipient(production(&acme), acme_staging.id)
        .await
        .expect("get_recipient failed");
    assert_eq!(from_other_environment, None);

    let from_other_organization = db
        .store
        .get_recipient(staging(&globex), acme_staging.id)
        .await
        .expect("get_recipient failed");
    assert_eq!(from_other_organization, None);

    let by_provider_id = db
        .store
        .find_recipient(staging(&globex), "user-1")
        .await
        .expect("find_recipient failed");
    assert_eq!(by_provider_id.map(|r| r.id), Some(globex_staging.id));
}

async fn case_destination_roundtrip(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let recipient = db
        .store
        .upsert_recipient(tenant, "user-1")
        .await
        .expect("upsert_recipient failed");

    let new = new_destination(tenant, recipient.id, now());
    let inserted = db
        .store
        .insert_destination(&new)
        .await
        .expect("insert_destination failed");
    assert_eq!(inserted.id, new.id);
    assert_eq!(inserted.tenant, tenant);
    assert_eq!(inserted.recipient_id, recipient.id);
    assert_eq!(inserted.id_in_provider_system, "user-1");
    assert_eq!(inserted.vendor, new.vendor);
    assert_eq!(inserted.name, new.name);
    assert_eq!(inserted.details, new.details);
    assert_eq!(inserted.secrets, new.secrets);
    assert_eq!(inserted.created_at, new.created_at);
    assert_eq!(inserted.updated_at, new.created_at);

    let found = db
        .store
        .get_destination(tenant, new.id)
        .await
        .expect("get_destination failed");
    assert_eq!(found, Some(inserted));

    let without_secrets = NewDestination {
        secrets: None,
        ..new_destination(tenant, recipient.id, now())
    };
    let inserted = db
        .store
        .insert_destination(&without_secrets)
        .await
        .expect("insert_destination without secrets failed");
    assert_eq!(inserted.secrets, None);

    let unknown = db
        .store
        .get_destination(tenant, Uuid::new_v4())
        .await
        .expect("get_destination of an unknown id failed");
    assert_eq!(unknown, None);
}

async fn case_destination_duplicate_id(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let recipient = db
        .store
        .upsert_recipient(tenant, "user-1")
        .await
        .expect("upsert_recipient failed");
    let new = new_destination(tenant, recipient.id, now());
    db.store
        .insert_destination(&new)
        .await
        .expect("insert_destination failed");

    let result = db.store.insert_destination(&new).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "duplicate destination id: expected Conflict, got {result:?}"
    );
}

async fn case_destination_tenant_isolation(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    let recipient = db
        .store
        .upsert_recipient(tenant, "user-1")
        .await
        .expect("upsert_recipient failed");
    let destination = db
        .store
        .insert_destination(&new_destination(tenant, recipient.id, now()))
        .await
        .expect("insert_destination failed");

    for other in [staging(&globex), production(&acme)] {
        let found = db
            .store
            .get_destination(other, destination.id)
            .await
            .expect("get_destination failed");
        assert_eq!(found, None, "destination visible to tenant {other:?}");

        let listed = db
            .store
            .list_destinations_for_recipient(other, recipient.id)
            .await
            .expect("list_destinations_for_recipient failed");
        assert!(
            listed.is_empty(),
            "destinations listed for tenant {other:?}"
        );
    }

    let own = db
        .store
        .list_destinations_for_recipient(tenant, recipient.id)
        .await
        .expect("list_destinations_for_recipient failed");
    assert_eq!(destination_ids(&own), vec![destination.id]);
}

async fn case_destination_foreign_recipient(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let recipient = db
        .store
        .upsert_recipient(staging(&acme), "user-1")
        .await
        .expect("upsert_recipient failed");

    let cases = [
        ("other organization", staging(&globex), recipient.id),
        ("other environment", production(&acme), recipient.id),
        ("unknown recipient", staging(&acme), Uuid::new_v4()),
        ("unknown organization", unknown_tenant(), recipient.id),
    ];
    for (label, tenant, recipient_id) in cases {
        let result = db
            .store
            .insert_destination(&new_destination(tenant, recipient_id, now()))
            .await;
        assert!(
            matches!(result, Err(StoreError::NotFound(_))),
            "{label}: expected NotFound, got {result:?}"
        );
    }

    let stored = db
        .store
        .list_destinations_for_recipient(staging(&acme), recipient.id)
        .await
        .expect("list_destinations_for_recipient failed");
    assert!(stored.is_empty(), "rejected inserts must not add rows");
}

async fn case_destination_list_order(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let recipient = db
        .store
        .upsert_recipient(tenant, "user-1")
        .await
        .expect("upsert_recipient failed");
    let neighbor = db
        .store
        .upsert_recipient(tenant, "user-2")
        .await
        .expect("upsert_recipient failed");
    let start = whole_second();

    let latest = new_destination(tenant, recipient.id, start + TimeDelta::milliseconds(500));
    let earliest = new_destination(tenant, recipient.id, start);
    let middle = new_destination(tenant, recipient.id, start + TimeDelta::microseconds(1));
    let of_neighbor = new_destination(tenant, neighbor.id, start);
    for destination in [&latest, &earliest, &middle, &of_neighbor] {
        db.store
            .insert_destination(destination)
            .await
            .expect("insert_destination failed");
    }

    let listed = db
        .store
        .list_destinations_for_recipient(tenant, recipient.id)
        .await
        .expect("list_destinations_for_recipient failed");
    assert_eq!(
        destination_ids(&listed),
        vec![earliest.id, middle.id, latest.id],
        "the recipient's destinations, oldest first"
    );

    let unknown = db
        .store
        .list_destinations_for_recipient(tenant, Uuid::new_v4())
        .await
        .expect("list_destinations_for_recipient failed");
    assert!(unknown.is_empty());
}

async fn case_signing_keys(db: &TestDb) {
    let empty = db
        .store
        .list_signing_keys()
        .await
        .expect("list_signing_keys failed");
    assert!(empty.is_empty());

    let start = now();
    let newer = SigningKeyRecord {
        kid: "key-b".to_owned(),
        public_key: vec![1; 32],
        private_key_encrypted: vec![2; 80],
        created_at: start + TimeDelta::seconds(1),
        retired_at: None,
    };
    let older = SigningKeyRecord {
        kid: "key-a".to_owned(),
        public_key: vec![3; 32],
        private_key_encrypted: vec![4; 80],
        created_at: start,
        retired_at: None,
    };
    let retired = SigningKeyRecord {
        kid: "key-0".to_owned(),
        public_key: vec![5; 32],
        private_key_encrypted: vec![6; 80],
        created_at: start - TimeDelta::days(30),
        retired_at: Some(start - TimeDelta::days(1)),
    };
    for key in [&newer, &older, &retired] {
        db.store
            .insert_signing_key(key)
            .await
            .expect("insert_signing_key failed");
    }

    let listed = db
        .store
        .list_signing_keys()
        .await
        .expect("list_signing_keys failed");
    assert_eq!(
        listed,
        vec![older.clone(), newer.clone()],
        "keys that are not retired, oldest first"
    );

    let duplicate = SigningKeyRecord {
        public_key: vec![7; 32],
        ..older.clone()
    };
    let result = db.store.insert_signing_key(&duplicate).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "duplicate kid: expected Conflict, got {result:?}"
    );
}

async fn case_allowed_origins(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let origin = "https://app.example.com";

    let before = db
        .store
        .is_allowed_origin(origin)
        .await
        .expect("is_allowed_origin failed");
    assert!(!before);

    db.store
        .record_allowed_origin(staging(&acme), origin)
        .await
        .expect("record_allowed_origin failed");
    db.store
        .record_allowed_origin(staging(&acme), origin)
        .await
        .expect("recording the same origin twice failed");
    db.store
        .record_allowed_origin(production(&globex), origin)
        .await
        .expect("recording the origin for a second tenant failed");

    let after = db
        .store
        .is_allowed_origin(origin)
        .await
        .expect("is_allowed_origin failed");
    assert!(after);

    let other = db
        .store
        .is_allowed_origin("https://other.example.com")
        .await
        .expect("is_allowed_origin failed");
    assert!(!other);

    let result = db
        .store
        .record_allowed_origin(unknown_tenant(), "https://unknown.example.com")
        .await;
    assert!(
        matches!(result, Err(StoreError::NotFound(_))),
        "unknown organization: expected NotFound, got {result:?}"
    );
}

/// Outcome of one writer task in the concurrency case.
struct WriterOutcome {
    organization_id: Uuid,
    shared_recipient_ids: Vec<Uuid>,
    own_recipient_id: Uuid,
}

async fn case_concurrent_writers(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);

    let mut tasks = Vec::with_capacity(CONCURRENT_TASKS);
    for index in 0..CONCURRENT_TASKS {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            let organization = store.ensure_organization("initech").await?;
            let mut shared_recipient_ids = Vec::with_capacity(ROUNDS_PER_TASK);
            let mut own_recipient_id = Uuid::nil();
            for _ in 0..ROUNDS_PER_TASK {
                let shared = store.upsert_recipient(tenant, "shared-user").await?;
                let own = store
                    .upsert_recipient(tenant, &format!("user-{index}"))
                    .await?;
                store
                    .insert_destination(&new_destination(tenant, shared.id, now()))
                    .await?;
                store
                    .insert_destination(&new_destination(tenant, own.id, now()))
                    .await?;
                store
                    .record_allowed_origin(tenant, &format!("https://app{index}.example.com"))
                    .await?;
                shared_recipient_ids.push(shared.id);
                own_recipient_id = own.id;
            }
            Ok::<_, StoreError>(WriterOutcome {
                organization_id: organization.id,
                shared_recipient_ids,
                own_recipient_id,
            })
        }));
    }

    let mut outcomes = Vec::with_capacity(CONCURRENT_TASKS);
    for (index, task) in tasks.into_iter().enumerate() {
        match task.await {
            Ok(Ok(outcome)) => outcomes.push(outcome),
            Ok(Err(error)) => panic!("writer task {index} failed: {error}"),
            Err(error) => panic!("writer task {index} did not finish: {error}"),
        }
    }

    let organization_ids: HashSet<Uuid> = outcomes
        .iter()
        .map(|outcome| outcome.organization_id)
        .collect();
    assert_eq!(
        organization_ids.len(),
        1,
        "concurrent ensure_organization calls returned different rows"
    );

    let shared_ids: HashSet<Uuid> = outcomes
        .iter()
        .flat_map(|outcome| outcome.shared_recipient_ids.iter().copied())
        .collect();
    assert_eq!(
        shared_ids.len(),
        1,
        "concurrent upsert_recipient calls returned different rows"
    );
    let shared_id = shared_ids
        .into_iter()
        .next()
        .expect("the shared recipient id is missing");

    let shared_destinations = db
        .store
        .list_destinations_for_recipient(tenant, shared_id)
        .await
        .expect("list_destinations_for_recipient failed");
    assert_eq!(
        shared_destinations.len(),
        CONCURRENT_TASKS * ROUNDS_PER_TASK
    );

    for (index, outcome) in outcomes.iter().enumerate() {
        let own = db
            .store
            .list_destinations_for_recipient(tenant, outcome.own_recipient_id)
            .await
            .expect("list_destinations_for_recipient failed");
        assert_eq!(own.len(), ROUNDS_PER_TASK, "destinations of task {index}");
    }
}

/// A recipient with one destination: the rows every transfer refers to.
struct TransferParents {
    recipient: Recipient,
    destination: Destination,
}

async fn transfer_parents(db: &TestDb, tenant: Tenant, recipient_name: &str) -> TransferParents {
    let recipient = db
        .store
        .upsert_recipient(tenant, recipient_name)
        .await
        .expect("upsert_recipient failed");
    let destination = db
        .store
        .insert_destination(&new_destination(tenant, recipient.id, now()))
        .await
        .expect("insert_destination failed");
    TransferParents {
        recipient,
        destination,
    }
}

fn new_transfer(destination: &Destination, submitted_at: DateTime<Utc>) -> Transfer {
    Transfer {
        id: Uuid::new_v4(),
        tenant: destination.tenant,
        destination_id: destination.id,
        recipient_id: destination.recipient_id,
        status: TransferStatus::Pending,
        models: strings(&["orders", "customers"]),
        model_metrics: json!([]),
        log: String::new(),
        submitted_at,
        started_at: None,
        ended_at: None,
        rows_transferred: 0,
        volume_transferred_in_mb: 0.0,
        updated_at: submitted_at,
    }
}

async fn insert_transfer(db: &TestDb, transfer: &Transfer) -> Transfer {
    db.store
        .insert_transfer(transfer)
        .await
        .expect("insert_transfer failed")
}

fn transfer_ids(transfers: &[Transfer]) -> Vec<Uuid> {
    transfers.iter().map(|transfer| transfer.id).collect()
}

/// Returns the ids of `transfers` in the order `list_transfers` must use.
fn sorted_transfer_ids(transfers: &[Transfer], descending: bool) -> Vec<Uuid> {
    let mut keys: Vec<(DateTime<Utc>, Uuid)> = transfers
        .iter()
        .map(|transfer| (transfer.submitted_at, transfer.id))
        .collect();
    keys.sort();
    if descending {
        keys.reverse();
    }
    keys.into_iter().map(|(_, id)| id).collect()
}

/// Lists every transfer matching `filter` page by page, following
/// `Page::after`, and returns the ids of each page.
async fn transfer_pages(
    db: &TestDb,
    tenant: Tenant,
    filter: &TransferFilter,
    limit: u32,
    descending: bool,
) -> Vec<Vec<Uuid>> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = Page {
            limit,
            after,
            descending,
        };
        let listed = db
            .store
            .list_transfers(tenant, filter, &page)
            .await
            .expect("list_transfers failed");
        assert!(
            listed.len() <= limit as usize,
            "a page of limit {limit} returned {} rows",
            listed.len()
        );
        let Some(last) = listed.last() else {
            break;
        };
        after = Some((last.submitted_at, last.id));
        pages.push(transfer_ids(&listed));
        assert!(pages.len() <= 100, "pagination does not end");
    }
    pages
}

/// Lists the transfers matching `filter` in one ascending page.
async fn listed_transfer_ids(db: &TestDb, tenant: Tenant, filter: &TransferFilter) -> Vec<Uuid> {
    let page = Page {
        limit: 1000,
        after: None,
        descending: false,
    };
    let listed = db
        .store
        .list_transfers(tenant, filter, &page)
        .await
        .expect("list_transfers failed");
    transfer_ids(&listed)
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| (*value).to_owned()).collect()
}

fn new_model(tenant: Tenant, model_name: &str) -> Model {
    let created_at = now();
    Model {
        id: Uuid::new_v4(),
        tenant,
        model_name: model_name.to_owned(),
        description: format!("Rows of {model_name}"),
        columns: json!([
            {"name": "id", "type": "string"},
            {"name": "amount", "type": "float", "nullable": true}
        ]),
        source_table: model_name.to_owned(),
        source_schema: "analytics".to_owned(),
        organization_column: "account_id".to_owned(),
        source_name: None,
        created_at,
        updated_at: created_at,
    }
}

async fn insert_models(db: &TestDb, tenant: Tenant, names: &[&str]) -> Vec<Model> {
    let mut models = Vec::with_capacity(names.len());
    for name in names {
        let model = db
            .store
            .insert_model(&new_model(tenant, name))
            .await
            .expect("insert_model failed");
        models.push(model);
    }
    models
}

fn model_names(models: &[Model]) -> Vec<String> {
    models
        .iter()
        .map(|model| model.model_name.clone())
        .collect()
}

async fn listed_model_names(db: &TestDb, tenant: Tenant) -> Vec<String> {
    let models = db
        .store
        .list_models(tenant)
        .await
        .expect("list_models failed");
    model_names(&models)
}

async fn models_for_recipient(db: &TestDb, tenant: Tenant, recipient_id: Uuid) -> Vec<String> {
    let models = db
        .store
        .list_models_for_recipient(tenant, recipient_id)
        .await
        .expect("list_models_for_recipient failed");
    model_names(&models)
}

fn new_product(tenant: Tenant, product_name: &str, models: &[&str]) -> Product {
    let created_at = now();
    Product {
        id: Uuid::new_v4(),
        tenant,
        product_name: product_name.to_owned(),
        models: strings(models),
        created_at,
        updated_at: created_at,
    }
}

async fn insert_product(db: &TestDb, product: &Product) -> Product {
    db.store
        .insert_product(product)
        .await
        .expect("insert_product failed")
}

async fn listed_products(db: &TestDb, tenant: Tenant) -> Vec<Product> {
    db.store
        .list_products(tenant)
        .await
        .expect("list_products failed")
}

async fn recipient_products(db: &TestDb, tenant: Tenant, recipient_id: Uuid) -> Vec<String> {
    db.store
        .list_recipient_products(tenant, recipient_id)
        .await
        .expect("list_recipient_products failed")
}

fn assert_not_found_named<T: std::fmt::Debug>(result: StoreResult<T>, name: &str, label: &str) {
    match result {
        Err(StoreError::NotFound(message)) => {
            assert_eq!(
                message, name,
                "{label}: NotFound must name the unknown value"
            );
        }
        other => panic!("{label}: expected NotFound({name:?}), got {other:?}"),
    }
}

async fn case_destination_update(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let parents = transfer_parents(db, tenant, "user-1").await;
    let stored = parents.destination;

    let changed = Destination {
        vendor: "snowflake".to_owned(),
        name: "Lake".to_owned(),
        details: json!({"account": "acme-eu", "warehouse": "exports"}),
        secrets: Some(vec![9, 8, 7]),
        updated_at: stored.updated_at + TimeDelta::seconds(1),
        ..stored.clone()
    };
    let updated = db
        .store
        .update_destination(tenant, &changed, stored.updated_at)
        .await
        .expect("update_destination failed")
        .expect("update_destination returned None for an existing destination");
    assert_eq!(updated, changed);
    assert_eq!(updated.created_at, stored.created_at);
    assert_eq!(updated.recipient_id, parents.recipient.id);
    assert_eq!(updated.id_in_provider_system, "user-1");

    let found = db
        .store
        .get_destination(tenant, stored.id)
        .await
        .expect("get_destination failed");
    assert_eq!(found, Some(updated.clone()));

    let without_secrets = Destination {
        secrets: None,
        updated_at: updated.updated_at + TimeDelta::seconds(1),
        ..updated.clone()
    };
    let cleared = db
        .store
        .update_destination(tenant, &without_secrets, updated.updated_at)
        .await
        .expect("update_destination without secrets failed")
        .expect("update_destination returned None");
    assert_eq!(cleared.secrets, None);

    let unknown = Destination {
        id: Uuid::new_v4(),
        ..changed.clone()
    };
    let result = db
        .store
        .update_destination(tenant, &unknown, changed.updated_at)
        .await
        .expect("update_destination of an unknown id failed");
    assert_eq!(result, None);
}

async fn case_destination_update_stale(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let stored = transfer_parents(db, tenant, "user-1").await.destination;

    let first = Destination {
        name: "First".to_owned(),
        updated_at: stored.updated_at + TimeDelta::seconds(1),
        ..stored.clone()
    };
    db.store
        .update_destination(tenant, &first, stored.updated_at)
        .await
        .expect("first update_destination failed")
        .expect("first update_destination returned None");

    let second = Destination {
        name: "Second".to_owned(),
        updated_at: stored.updated_at + TimeDelta::seconds(2),
        ..stored.clone()
    };
    let result = db
        .store
        .update_destination(tenant, &second, stored.updated_at)
        .await;
    assert!(
        matches!(result, Err(StoreError::Stale(_))),
        "update with an old updated_at: expected Stale, got {result:?}"
    );

    let found = db
        .store
        .get_destination(tenant, stored.id)
        .await
        .expect("get_destination failed")
        .expect("the destination is missing");
    assert_eq!(found.name, "First", "a stale update must not write");
    assert_eq!(found.updated_at, first.updated_at);
}

async fn case_destination_update_concurrent(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let stored = transfer_parents(db, tenant, "user-1").await.destination;

    let mut tasks = Vec::with_capacity(CONCURRENT_TASKS);
    for index in 0..CONCURRENT_TASKS {
        let store = db.store.clone();
        let changed = Destination {
            name: format!("Writer {index}"),
            updated_at: stored.updated_at + TimeDelta::milliseconds(index as i64 + 1),
            ..stored.clone()
        };
        let expected = stored.updated_at;
        tasks.push(tokio::spawn(async move {
            store.update_destination(tenant, &changed, expected).await
        }));
    }

    let mut winners = Vec::new();
    for (index, task) in tasks.into_iter().enumerate() {
        match task.await {
            Ok(Ok(Some(updated))) => winners.push(updated),
            Ok(Ok(None)) => panic!("writer {index}: update_destination returned None"),
            Ok(Err(StoreError::Stale(_))) => {}
            Ok(Err(error)) => panic!("writer {index}: expected Stale, got {error}"),
            Err(error) => panic!("writer {index} did not finish: {error}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one concurrent update must win");

    let found = db
        .store
        .get_destination(tenant, stored.id)
        .await
        .expect("get_destination failed");
    assert_eq!(found.as_ref(), winners.first());
}

async fn case_destination_update_isolation(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    let stored = transfer_parents(db, tenant, "user-1").await.destination;

    for other in [staging(&globex), production(&acme)] {
        let changed = Destination {
            name: "Hijacked".to_owned(),
            updated_at: stored.updated_at + TimeDelta::seconds(1),
            tenant: other,
            ..stored.clone()
        };
        let result = db
            .store
            .update_destination(other, &changed, stored.updated_at)
            .await
            .expect("update_destination from another tenant failed");
        assert_eq!(result, None, "destination updated by tenant {other:?}");
    }

    let found = db
        .store
        .get_destination(tenant, stored.id)
        .await
        .expect("get_destination failed");
    assert_eq!(found, Some(stored));
}

async fn case_destination_delete(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    let parents = transfer_parents(db, tenant, "user-1").await;
    let destination = parents.destination;
    let surviving_destination = db
        .store
        .insert_destination(&new_destination(tenant, parents.recipient.id, now()))
        .await
        .expect("insert_destination failed");
    let removed_transfer = insert_transfer(db, &new_transfer(&destination, now())).await;
    let surviving_transfer =
        insert_transfer(db, &new_transfer(&surviving_destination, now())).await;

    for other in [staging(&globex), production(&acme)] {
        let deleted = db
            .store
            .delete_destination(other, destination.id)
            .await
            .expect("delete_destination from another tenant failed");
        assert!(!deleted, "destination deleted by tenant {other:?}");
    }
    let still_there = db
        .store
        .get_destination(tenant, destination.id)
        .await
        .expect("get_destination failed");
    assert!(
        still_there.is_some(),
        "another tenant's delete removed the row"
    );

    let deleted = db
        .store
        .delete_destination(tenant, destination.id)
        .await
        .expect("delete_destination failed");
    assert!(deleted);

    let after_delete = db
        .store
        .get_destination(tenant, destination.id)
        .await
        .expect("get_destination failed");
    assert_eq!(after_delete, None);

    let orphan = db
        .store
        .get_transfer(tenant, removed_transfer.id)
        .await
        .expect("get_transfer failed");
    assert_eq!(
        orphan, None,
        "deleting a destination must delete its transfers"
    );

    let remaining = listed_transfer_ids(db, tenant, &TransferFilter::default()).await;
    assert_eq!(remaining, vec![surviving_transfer.id]);

    let again = db
        .store
        .delete_destination(tenant, destination.id)
        .await
        .expect("second delete_destination failed");
    assert!(!again, "a second delete must report a missing row");
}

async fn case_transfer_roundtrip(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let parents = transfer_parents(db, tenant, "user-1").await;

    let submitted_at = now();
    let transfer = Transfer {
        model_metrics: json!([{"model": "orders", "rows": 10, "share": 0.5}]),
        log: "queued\n".to_owned(),
        started_at: Some(submitted_at + TimeDelta::seconds(1)),
        rows_transferred: 10,
        volume_transferred_in_mb: 1.25,
        ..new_transfer(&parents.destination, submitted_at)
    };
    let inserted = insert_transfer(db, &transfer).await;
    assert_eq!(inserted, transfer);

    let found = db
        .store
        .get_transfer(tenant, transfer.id)
        .await
        .expect("get_transfer failed");
    assert_eq!(found, Some(transfer.clone()));

    let unknown = db
        .store
        .get_transfer(tenant, Uuid::new_v4())
        .await
        .expect("get_transfer of an unknown id failed");
    assert_eq!(unknown, None);

    let result = db.store.insert_transfer(&transfer).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "duplicate transfer id: expected Conflict, got {result:?}"
    );
}

async fn case_transfer_foreign_destination(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    let parents = transfer_parents(db, tenant, "user-1").await;
    let neighbor = db
        .store
        .upsert_recipient(tenant, "user-2")
        .await
        .expect("upsert_recipient failed");
    let destination = &parents.destination;

    let cases = [
        (
            "other organization",
            staging(&globex),
            destination.id,
            destination.recipient_id,
        ),
        (
            "other environment",
            production(&acme),
            destination.id,
            destination.recipient_id,
        ),
        ("other recipient", tenant, destination.id, neighbor.id),
        (
            "unknown destination",
            tenant,
            Uuid::new_v4(),
            destination.recipient_id,
        ),
        (
            "unknown organization",
            unknown_tenant(),
            destination.id,
            destination.recipient_id,
        ),
    ];
    for (label, other, destination_id, recipient_id) in cases {
        let transfer = Transfer {
            tenant: other,
            destination_id,
            recipient_id,
            ..new_transfer(destination, now())
        };
        let result = db.store.insert_transfer(&transfer).await;
        assert!(
            matches!(result, Err(StoreError::NotFound(_))),
            "{label}: expected NotFound, got {result:?}"
        );
    }

    for owner in [tenant, staging(&globex), production(&acme)] {
        let stored = listed_transfer_ids(db, owner, &TransferFilter::default()).await;
        assert!(stored.is_empty(), "rejected inserts must not add rows");
    }
}

async fn case_transfer_update(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let parents = transfer_parents(db, tenant, "user-1").await;
    let pending = insert_transfer(db, &new_transfer(&parents.destination, now())).await;

    let started_at = pending.submitted_at + TimeDelta::seconds(5);
    let running = Transfer {
        status: TransferStatus::Running,
        models: strings(&["orders"]),
        model_metrics: json!([{"model": "orders", "rows": 3}]),
        log: "started\n".to_owned(),
        started_at: Some(started_at),
        rows_transferred: 3,
        volume_transferred_in_mb: 0.5,
        updated_at: started_at,
        ..pending.clone()
    };
    let updated = db
        .store
        .update_transfer(&running, TransferStatus::Pending)
        .await
        .expect("update_transfer failed")
        .expect("update_transfer returned None for an existing transfer");
    assert_eq!(updated, running);

    // Only the mutable fields change; the submission time and parents stay.
    let ended_at = started_at + TimeDelta::seconds(30);
    let finished = Transfer {
        status: TransferStatus::Success,
        ended_at: Some(ended_at),
        updated_at: ended_at,
        submitted_at: pending.submitted_at + TimeDelta::days(1),
        ..running.clone()
    };
    let updated = db
        .store
        .update_transfer(&finished, TransferStatus::Running)
        .await
        .expect("update_transfer failed")
        .expect("update_transfer returned None");
    assert_eq!(updated.status, TransferStatus::Success);
    assert_eq!(updated.ended_at, Some(ended_at));
    assert_eq!(updated.submitted_at, pending.submitted_at);

    let found = db
        .store
        .get_transfer(tenant, pending.id)
        .await
        .expect("get_transfer failed");
    assert_eq!(found, Some(updated.clone()));

    let unknown = Transfer {
        id: Uuid::new_v4(),
        ..running.clone()
    };
    let result = db
        .store
        .update_transfer(&unknown, TransferStatus::Pending)
        .await
        .expect("update_transfer of an unknown id failed");
    assert_eq!(result, None);
}

async fn case_transfer_update_stale(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let parents = transfer_parents(db, tenant, "user-1").await;
    let pending = insert_transfer(db, &new_transfer(&parents.destination, now())).await;

    let cancelled = Transfer {
        status: TransferStatus::Cancelled,
        log: "cancelled by the user".to_owned(),
        ..pending.clone()
    };
    let result = db
        .store
        .update_transfer(&cancelled, TransferStatus::Running)
        .await;
    assert!(
        matches!(result, Err(StoreError::Stale(_))),
        "expected status RUNNING on a PENDING transfer: expected Stale, got {result:?}"
    );

    let found = db
        .store
        .get_transfer(tenant, pending.id)
        .await
        .expect("get_transfer failed");
    assert_eq!(found, Some(pending), "a stale update must not write");
}

async fn case_transfer_update_concurrent(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let parents = transfer_parents(db, tenant, "user-1").await;
    let pending = insert_transfer(db, &new_transfer(&parents.destination, now())).await;

    let mut tasks = Vec::with_capacity(CONCURRENT_TASKS);
    for index in 0..CONCURRENT_TASKS {
        let store = db.store.clone();
        let running = Transfer {
            status: TransferStatus::Running,
            log: format!("claimed by worker {index}"),
            ..pending.clone()
        };
        tasks.push(tokio::spawn(async move {
            store
                .update_transfer(&running, TransferStatus::Pending)
                .await
        }));
    }

    let mut winners = Vec::new();
    for (index, task) in tasks.into_iter().enumerate() {
        match task.await {
            Ok(Ok(Some(updated))) => winners.push(updated),
            Ok(Ok(None)) => panic!("worker {index}: update_transfer returned None"),
            Ok(Err(StoreError::Stale(_))) => {}
            Ok(Err(error)) => panic!("worker {index}: expected Stale, got {error}"),
            Err(error) => panic!("worker {index} did not finish: {error}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one worker must claim the transfer"
    );

    let found = db
        .store
        .get_transfer(tenant, pending.id)
        .await
        .expect("get_transfer failed");
    assert_eq!(found.as_ref(), winners.first());
}

async fn case_transfer_tenant_isolation(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    let parents = transfer_parents(db, tenant, "user-1").await;
    let transfer = insert_transfer(db, &new_transfer(&parents.destination, now())).await;

    for other in [staging(&globex), production(&acme)] {
        let found = db
            .store
            .get_transfer(other, transfer.id)
            .await
            .expect("get_transfer failed");
        assert_eq!(found, None, "transfer visible to tenant {other:?}");

        let filters = [
            TransferFilter::default(),
            TransferFilter {
                destination_id: Some(parents.destination.id),
                ..TransferFilter::default()
            },
            TransferFilter {
                recipient_id: Some(parents.recipient.id),
                ..TransferFilter::default()
            },
        ];
        for filter in &filters {
            let listed = listed_transfer_ids(db, other, filter).await;
            assert!(listed.is_empty(), "transfers listed for tenant {other:?}");
        }

        let claimed = Transfer {
            tenant: other,
            status: TransferStatus::Running,
            ..transfer.clone()
        };
        let result = db
            .store
            .update_transfer(&claimed, TransferStatus::Pending)
            .await
            .expect("update_transfer from another tenant failed");
        assert_eq!(result, None, "transfer updated by tenant {other:?}");
    }

    let found = db
        .store
        .get_transfer(tenant, transfer.id)
        .await
        .expect("get_transfer failed");
    assert_eq!(found, Some(transfer));
}

/// Inserts eight transfers submitted at the times of [`paging_times`], so
/// page boundaries fall between rows with equal `submitted_at`.
async fn insert_paging_transfers(db: &TestDb, destination: &Destination) -> Vec<Transfer> {
    let mut transfers = Vec::new();
    for submitted_at in paging_times() {
        transfers.push(insert_transfer(db, &new_transfer(destination, submitted_at)).await);
    }
    transfers
}

async fn case_transfer_pages_ascending(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let parents = transfer_parents(db, tenant, "user-1").await;
    let transfers = insert_paging_transfers(db, &parents.destination).await;
    let expected = sorted_transfer_ids(&transfers, false);

    let pages = transfer_pages(db, tenant, &TransferFilter::default(), 3, false).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![3, 3, 2]);
    assert_eq!(pages.concat(), expected, "ascending by (submitted_at, id)");

    let single = transfer_pages(db, tenant, &TransferFilter::default(), 1, false).await;
    assert_eq!(single.concat(), expected, "pages of one row");

    let whole = transfer_pages(db, tenant, &TransferFilter::default(), 100, false).await;
    assert_eq!(
        whole,
        vec![expected.clone()],
        "one page larger than the result"
    );

    let last = transfers
        .iter()
        .find(|transfer| Some(&transfer.id) == expected.last())
        .expect("the last transfer is missing");
    let page = Page {
        limit: 10,
        after: Some((last.submitted_at, last.id)),
        descending: false,
    };
    let beyond = db
        .store
        .list_transfers(tenant, &TransferFilter::default(), &page)
        .await
        .expect("list_transfers failed");
    assert!(beyond.is_empty(), "no rows follow the last one");

    let empty_page = Page {
        limit: 0,
        after: None,
        descending: false,
    };
    let none = db
        .store
        .list_transfers(tenant, &TransferFilter::default(), &empty_page)
        .await
        .expect("list_transfers with limit 0 failed");
    assert!(none.is_empty());
}

async fn case_transfer_pages_descending(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let parents = transfer_parents(db, tenant, "user-1").await;
    let transfers = insert_paging_transfers(db, &parents.destination).await;
    let expected = sorted_transfer_ids(&transfers, true);

    let pages = transfer_pages(db, tenant, &TransferFilter::default(), 3, true).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![3, 3, 2]);
    assert_eq!(pages.concat(), expected, "descending by (submitted_at, id)");

    let pairs = transfer_pages(db, tenant, &TransferFilter::default(), 2, true).await;
    assert_eq!(pairs.concat(), expected, "pages of two rows");

    // A cursor whose id lies between the ids of rows with the same time
    // keeps exactly the rows before it in the page's order.
    let start = transfers
        .iter()
        .map(|transfer| transfer.submitted_at)
        .min()
        .expect("no transfers were inserted");
    let tied: Vec<Uuid> = sorted_transfer_ids(
        &transfers
            .iter()
            .filter(|transfer| transfer.submitted_at == start)
            .cloned()
            .collect::<Vec<_>>(),
        true,
    );
    let cursor = (start, tied[1]);
    let page = Page {
        limit: 10,
        after: Some(cursor),
        descending: true,
    };
    let after_cursor = db
        .store
        .list_transfers(tenant, &TransferFilter::default(), &page)
        .await
        .expect("list_transfers failed");
    assert_eq!(transfer_ids(&after_cursor), tied[2..].to_vec());
}

async fn case_transfer_list_filters(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let first = transfer_parents(db, tenant, "user-1").await;
    let second_destination = db
        .store
        .insert_destination(&new_destination(tenant, first.recipient.id, now()))
        .await
        .expect("insert_destination failed");
    let other = transfer_parents(db, tenant, "user-2").await;
    let production_parents = transfer_parents(db, production(&acme), "user-1").await;

    let start = whole_second();
    let early = insert_transfer(db, &new_transfer(&first.destination, start)).await;
    let middle = insert_transfer(
        db,
        &Transfer {
            status: TransferStatus::Success,
            ..new_transfer(&first.destination, start + TimeDelta::milliseconds(500))
        },
    )
    .await;
    let late = insert_transfer(
        db,
        &Transfer {
            status: TransferStatus::Error,
            ..new_transfer(&second_destination, start + TimeDelta::seconds(1))
        },
    )
    .await;
    let neighbor = insert_transfer(
        db,
        &Transfer {
            status: TransferStatus::Success,
            ..new_transfer(&other.destination, start + TimeDelta::microseconds(1))
        },
    )
    .await;
    insert_transfer(db, &new_transfer(&production_parents.destination, start)).await;

    let cases = [
        (
            "no filter",
            TransferFilter::default(),
            vec![early.id, neighbor.id, middle.id, late.id],
        ),
        (
            "destination",
            TransferFilter {
                destination_id: Some(first.destination.id),
                ..TransferFilter::default()
            },
            vec![early.id, middle.id],
        ),
        (
            "recipient",
            TransferFilter {
                recipient_id: Some(first.recipient.id),
                ..TransferFilter::default()
            },
            vec![early.id, middle.id, late.id],
        ),
        (
            "one status",
            TransferFilter {
                statuses: vec![TransferStatus::Success],
                ..TransferFilter::default()
            },
            vec![neighbor.id, middle.id],
        ),
        (
            "two statuses",
            TransferFilter {
                statuses: vec![TransferStatus::Error, TransferStatus::Pending],
                ..TransferFilter::default()
            },
            vec![early.id, late.id],
        ),
        (
            "status without rows",
            TransferFilter {
                statuses: vec![TransferStatus::Orphaned],
                ..TransferFilter::default()
            },
            vec![],
        ),
        (
            "submitted_from is inclusive",
            TransferFilter {
                submitted_from: Some(middle.submitted_at),
                ..TransferFilter::default()
            },
            vec![middle.id, late.id],
        ),
        (
            "submitted_until is exclusive",
            TransferFilter {
                submitted_until: Some(middle.submitted_at),
                ..TransferFilter::default()
            },
            vec![early.id, neighbor.id],
        ),
        (
            "time window",
            TransferFilter {
                submitted_from: Some(neighbor.submitted_at),
                submitted_until: Some(late.submitted_at),
                ..TransferFilter::default()
            },
            vec![neighbor.id, middle.id],
        ),
        (
            "recipient and status",
            TransferFilter {
                recipient_id: Some(first.recipient.id),
                statuses: vec![TransferStatus::Success, TransferStatus::Error],
                ..TransferFilter::default()
            },
            vec![middle.id, late.id],
        ),
        (
            "destination of another recipient",
            TransferFilter {
                destination_id: Some(other.destination.id),
                recipient_id: Some(first.recipient.id),
                ..TransferFilter::default()
            },
            vec![],
        ),
    ];
    for (label, filter, expected) in cases {
        let listed = listed_transfer_ids(db, tenant, &filter).await;
        assert_eq!(listed, expected, "filter: {label}");

        let mut reversed = expected.clone();
        reversed.reverse();
        let pages = transfer_pages(db, tenant, &filter, 1, true).await;
        assert_eq!(pages.concat(), reversed, "filter {label}, descending pages");
    }
}

async fn case_model_roundtrip(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);

    let orders = Model {
        source_name: Some("warehouse".to_owned()),
        ..new_model(tenant, "orders")
    };
    let inserted = db
        .store
        .insert_model(&orders)
        .await
        .expect("insert_model failed");
    assert_eq!(inserted, orders);

    let customers = new_model(tenant, "customers");
    let inserted = db
        .store
        .insert_model(&customers)
        .await
        .expect("insert_model without a source name failed");
    assert_eq!(inserted, customers);

    // Byte order puts upper case before lower case on both backends.
    let upper = new_model(tenant, "Zones");
    db.store
        .insert_model(&upper)
        .await
        .expect("insert_model failed");

    let listed = db
        .store
        .list_models(tenant)
        .await
        .expect("list_models failed");
    assert_eq!(listed, vec![upper, customers, orders]);
}

async fn case_model_duplicate_name(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    let orders = insert_models(db, tenant, &["orders"]).await.remove(0);

    let result = db.store.insert_model(&new_model(tenant, "orders")).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "duplicate model name: expected Conflict, got {result:?}"
    );

    let same_id = Model {
        model_name: "refunds".to_owned(),
        ..orders.clone()
    };
    let result = db.store.insert_model(&same_id).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "duplicate model id: expected Conflict, got {result:?}"
    );
    assert_eq!(listed_model_names(db, tenant).await, strings(&["orders"]));

    for other in [staging(&globex), production(&acme)] {
        db.store
            .insert_model(&new_model(other, "orders"))
            .await
            .expect("the same name in another tenant must be accepted");
    }

    let result = db
        .store
        .insert_model(&new_model(unknown_tenant(), "orders"))
        .await;
    assert!(
        matches!(result, Err(StoreError::NotFound(_))),
        "unknown organization: expected NotFound, got {result:?}"
    );
}

async fn case_model_update(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let models = insert_models(db, tenant, &["orders", "customers"]).await;
    let orders = &models[0];

    let changed = Model {
        model_name: "sales".to_owned(),
        description: "Completed sales".to_owned(),
        columns: json!([{"name": "sale_id", "type": "string"}]),
        source_table: "sales_v2".to_owned(),
        source_schema: "reporting".to_owned(),
        organization_column: "tenant_id".to_owned(),
        source_name: Some("lake".to_owned()),
        updated_at: orders.updated_at + TimeDelta::seconds(1),
        created_at: orders.created_at + TimeDelta::days(1),
        ..orders.clone()
    };
    let updated = db
        .store
        .update_model(&changed)
        .await
        .expect("update_model failed")
        .expect("update_model returned None for an existing model");
    assert_eq!(
        updated,
        Model {
            created_at: orders.created_at,
            ..changed.clone()
        },
        "every field but id, tenant and created_at is replaced"
    );
    assert_eq!(
        listed_model_names(db, tenant).await,
        strings(&["customers", "sales"])
    );

    let renamed_to_taken = Model {
        model_name: "customers".to_owned(),
        ..updated.clone()
    };
    let result = db.store.update_model(&renamed_to_taken).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "taken model name: expected Conflict, got {result:?}"
    );
    assert_eq!(
        listed_model_names(db, tenant).await,
        strings(&["customers", "sales"])
    );

    let unknown = Model {
        id: Uuid::new_v4(),
        model_name: "unknown".to_owned(),
        ..updated.clone()
    };
    let result = db
        .store
        .update_model(&unknown)
        .await
        .expect("update_model of an unknown id failed");
    assert_eq!(result, None);
}

async fn case_model_tenant_isolation(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    let orders = insert_models(db, tenant, &["orders"]).await.remove(0);
    insert_models(db, production(&acme), &["invoices"]).await;
    insert_models(db, staging(&globex), &["tickets"]).await;

    assert_eq!(listed_model_names(db, tenant).await, strings(&["orders"]));
    assert_eq!(
        listed_model_names(db, production(&acme)).await,
        strings(&["invoices"])
    );
    assert_eq!(
        listed_model_names(db, staging(&globex)).await,
        strings(&["tickets"])
    );

    for other in [staging(&globex), production(&acme)] {
        let changed = Model {
            tenant: other,
            model_name: "hijacked".to_owned(),
            ..orders.clone()
        };
        let result = db
            .store
            .update_model(&changed)
            .await
            .expect("update_model from another tenant failed");
        assert_eq!(result, None, "model updated by tenant {other:?}");

        let deleted = db
            .store
            .delete_model(other, orders.id)
            .await
            .expect("delete_model from another tenant failed");
        assert!(!deleted, "model deleted by tenant {other:?}");
    }

    let listed = db
        .store
        .list_models(tenant)
        .await
        .expect("list_models failed");
    assert_eq!(listed, vec![orders]);
}

async fn case_model_delete(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let models = insert_models(db, tenant, &["orders", "customers"]).await;
    let product = insert_product(db, &new_product(tenant, "sales", &["orders", "customers"])).await;
    assert_eq!(product.models, strings(&["customers", "orders"]));

    let deleted = db
        .store
        .delete_model(tenant, models[0].id)
        .await
        .expect("delete_model failed");
    assert!(deleted);
    assert_eq!(
        listed_model_names(db, tenant).await,
        strings(&["customers"])
    );

    let products = listed_products(db, tenant).await;
    assert_eq!(products.len(), 1);
    assert_eq!(
        products[0].models,
        strings(&["customers"]),
        "deleting a model must remove it from its products"
    );

    let again = db
        .store
        .delete_model(tenant, models[0].id)
        .await
        .expect("second delete_model failed");
    assert!(!again, "a second delete must report a missing row");

    // The name is free again after the delete.
    insert_models(db, tenant, &["orders"]).await;
}

async fn case_product_roundtrip(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    insert_models(db, tenant, &["orders", "customers", "refunds"]).await;

    let sales = new_product(tenant, "sales", &["refunds", "orders", "refunds"]);
    let inserted = insert_product(db, &sales).await;
    assert_eq!(
        inserted,
        Product {
            models: strings(&["orders", "refunds"]),
            ..sales.clone()
        },
        "members come back sorted and each once"
    );

    let empty = new_product(tenant, "empty", &[]);
    let inserted_empty = insert_product(db, &empty).await;
    assert_eq!(inserted_empty, empty);

    let everything = new_product(tenant, "all", &["orders", "customers", "refunds"]);
    insert_product(db, &everything).await;

    let listed = listed_products(db, tenant).await;
    let names: Vec<&str> = listed
        .iter()
        .map(|product| product.product_name.as_str())
        .collect();
    assert_eq!(names, vec!["all", "empty", "sales"]);
    assert_eq!(
        listed[0].models,
        strings(&["customers", "orders", "refunds"])
    );
    assert!(listed[1].models.is_empty());
    assert_eq!(listed[2], inserted);
}

async fn case_product_duplicate_name(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    insert_models(db, tenant, &["orders", "customers"]).await;
    let sales = insert_product(db, &new_product(tenant, "sales", &["orders"])).await;

    let duplicate = new_product(tenant, "sales", &["customers"]);
    let result = db.store.insert_product(&duplicate).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "duplicate product name: expected Conflict, got {result:?}"
    );
    assert_eq!(
        listed_products(db, tenant).await,
        vec![sales],
        "a rejected insert must not write members"
    );

    for other in [staging(&globex), production(&acme)] {
        db.store
            .insert_product(&new_product(other, "sales", &[]))
            .await
            .expect("the same name in another tenant must be accepted");
    }
}

async fn case_product_unknown_model(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    insert_models(db, tenant, &["orders"]).await;
    insert_models(db, staging(&globex), &["tickets"]).await;
    insert_models(db, production(&acme), &["invoices"]).await;

    let cases = [
        ("unknown model", &["orders", "missing"][..], "missing"),
        (
            "model of another organization",
            &["tickets", "orders"][..],
            "tickets",
        ),
        (
            "model of another environment",
            &["invoices"][..],
            "invoices",
        ),
    ];
    for (label, members, unknown) in cases {
        let result = db
            .store
            .insert_product(&new_product(tenant, "sales", members))
            .await;
        assert_not_found_named(result, unknown, label);
    }
    assert!(
        listed_products(db, tenant).await.is_empty(),
        "rejected inserts must not add products"
    );
}

async fn case_product_update(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    insert_models(db, tenant, &["orders", "customers", "refunds"]).await;
    let sales = insert_product(db, &new_product(tenant, "sales", &["orders", "refunds"])).await;
    let support = insert_product(db, &new_product(tenant, "support", &["customers"])).await;

    let changed = Product {
        product_name: "commerce".to_owned(),
        models: strings(&["refunds", "customers", "customers"]),
        updated_at: sales.updated_at + TimeDelta::seconds(1),
        ..sales.clone()
    };
    let updated = db
        .store
        .update_product(&changed)
        .await
        .expect("update_product failed")
        .expect("update_product returned None for an existing product");
    assert_eq!(
        updated,
        Product {
            models: strings(&["customers", "refunds"]),
            ..changed.clone()
        }
    );
    assert_eq!(updated.created_at, sales.created_at);

    let with_unknown = Product {
        product_name: "renamed".to_owned(),
        models: strings(&["orders", "missing"]),
        ..updated.clone()
    };
    let result = db.store.update_product(&with_unknown).await;
    assert_not_found_named(result, "missing", "unknown model");

    let renamed_to_taken = Product {
        product_name: "support".to_owned(),
        models: strings(&["orders"]),
        ..updated.clone()
    };
    let result = db.store.update_product(&renamed_to_taken).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "taken product name: expected Conflict, got {result:?}"
    );
    assert_eq!(
        listed_products(db, tenant).await,
        vec![updated.clone(), support],
        "rejected updates must not write"
    );

    let cleared = Product {
        models: Vec::new(),
        ..updated.clone()
    };
    let result = db
        .store
        .update_product(&cleared)
        .await
        .expect("update_product without members failed")
        .expect("update_product returned None");
    assert!(result.models.is_empty());

    let unknown = Product {
        id: Uuid::new_v4(),
        product_name: "unknown".to_owned(),
        ..updated.clone()
    };
    let result = db
        .store
        .update_product(&unknown)
        .await
        .expect("update_product of an unknown id failed");
    assert_eq!(result, None);
}

async fn case_product_tenant_isolation(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    insert_models(db, tenant, &["orders"]).await;
    let sales = insert_product(db, &new_product(tenant, "sales", &["orders"])).await;

    for other in [staging(&globex), production(&acme)] {
        insert_models(db, other, &["orders"]).await;
        assert!(
            listed_products(db, other).await.is_empty(),
            "products listed for tenant {other:?}"
        );

        let changed = Product {
            tenant: other,
            product_name: "hijacked".to_owned(),
            ..sales.clone()
        };
        let result = db
            .store
            .update_product(&changed)
            .await
            .expect("update_product from another tenant failed");
        assert_eq!(result, None, "product updated by tenant {other:?}");

        let deleted = db
            .store
            .delete_product(other, sales.id)
            .await
            .expect("delete_product from another tenant failed");
        assert!(!deleted, "product deleted by tenant {other:?}");
    }

    assert_eq!(listed_products(db, tenant).await, vec![sales]);
}

async fn case_product_delete(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    insert_models(db, tenant, &["orders", "customers"]).await;
    let sales = insert_product(db, &new_product(tenant, "sales", &["orders"])).await;
    insert_product(db, &new_product(tenant, "support", &["customers"])).await;
    let recipient = db
        .store
        .upsert_recipient(tenant, "user-1")
        .await
        .expect("upsert_recipient failed");
    let stored = db
        .store
        .set_recipient_products(tenant, recipient.id, &strings(&["sales", "support"]))
        .await
        .expect("set_recipient_products failed");
    assert!(stored);

    let deleted = db
        .store
        .delete_product(tenant, sales.id)
        .await
        .expect("delete_product failed");
    assert!(deleted);

    let names: Vec<String> = listed_products(db, tenant)
        .await
        .into_iter()
        .map(|product| product.product_name)
        .collect();
    assert_eq!(names, strings(&["support"]));
    assert_eq!(
        recipient_products(db, tenant, recipient.id).await,
        strings(&["support"]),
        "recipients must lose a deleted product"
    );
    assert_eq!(
        listed_model_names(db, tenant).await,
        strings(&["customers", "orders"]),
        "deleting a product must keep its models"
    );

    let again = db
        .store
        .delete_product(tenant, sales.id)
        .await
        .expect("second delete_product failed");
    assert!(!again, "a second delete must report a missing row");
}

async fn case_recipient_products_set(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    insert_models(db, tenant, &["orders"]).await;
    for name in ["sales", "support", "finance"] {
        insert_product(db, &new_product(tenant, name, &["orders"])).await;
    }
    let recipient = db
        .store
        .upsert_recipient(tenant, "user-1")
        .await
        .expect("upsert_recipient failed");
    let neighbor = db
        .store
        .upsert_recipient(tenant, "user-2")
        .await
        .expect("upsert_recipient failed");
    assert!(
        recipient_products(db, tenant, recipient.id)
            .await
            .is_empty()
    );

    let stored = db
        .store
        .set_recipient_products(
            tenant,
            recipient.id,
            &strings(&["support", "sales", "support"]),
        )
        .await
        .expect("set_recipient_products failed");
    assert!(stored);
    assert_eq!(
        recipient_products(db, tenant, recipient.id).await,
        strings(&["sales", "support"])
    );

    db.store
        .set_recipient_products(tenant, neighbor.id, &strings(&["finance"]))
        .await
        .expect("set_recipient_products failed");

    let replaced = db
        .store
        .set_recipient_products(tenant, recipient.id, &strings(&["finance"]))
        .await
        .expect("set_recipient_products failed");
    assert!(replaced);
    assert_eq!(
        recipient_products(db, tenant, recipient.id).await,
        strings(&["finance"]),
        "a second call replaces the set"
    );

    let result = db
        .store
        .set_recipient_products(tenant, recipient.id, &strings(&["sales", "missing"]))
        .await;
    assert_not_found_named(result, "missing", "unknown product");
    assert_eq!(
        recipient_products(db, tenant, recipient.id).await,
        strings(&["finance"]),
        "a rejected call must not write"
    );

    let cleared = db
        .store
        .set_recipient_products(tenant, recipient.id, &[])
        .await
        .expect("set_recipient_products with no names failed");
    assert!(cleared);
    assert!(
        recipient_products(db, tenant, recipient.id)
            .await
            .is_empty()
    );
    assert_eq!(
        recipient_products(db, tenant, neighbor.id).await,
        strings(&["finance"]),
        "another recipient's products stay"
    );

    let unknown = db
        .store
        .set_recipient_products(tenant, Uuid::new_v4(), &strings(&["sales"]))
        .await
        .expect("set_recipient_products for an unknown recipient failed");
    assert!(!unknown);
    let unknown_with_unknown_product = db
        .store
        .set_recipient_products(tenant, Uuid::new_v4(), &strings(&["missing"]))
        .await
        .expect("set_recipient_products for an unknown recipient failed");
    assert!(!unknown_with_unknown_product);
    assert!(
        recipient_products(db, tenant, Uuid::new_v4())
            .await
            .is_empty()
    );
}

async fn case_recipient_products_isolation(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    insert_product(db, &new_product(tenant, "sales", &[])).await;
    let recipient = db
        .store
        .upsert_recipient(tenant, "user-1")
        .await
        .expect("upsert_recipient failed");
    db.store
        .set_recipient_products(tenant, recipient.id, &strings(&["sales"]))
        .await
        .expect("set_recipient_products failed");

    for other in [staging(&globex), production(&acme)] {
        insert_product(db, &new_product(other, "support", &[])).await;
        let other_recipient = db
            .store
            .upsert_recipient(other, "user-1")
            .await
            .expect("upsert_recipient failed");

        let result = db
            .store
            .set_recipient_products(other, recipient.id, &strings(&["support"]))
            .await
            .expect("set_recipient_products from another tenant failed");
        assert!(!result, "recipient changed by tenant {other:?}");

        let listed = recipient_products(db, other, recipient.id).await;
        assert!(listed.is_empty(), "products listed for tenant {other:?}");

        let result = db
            .store
            .set_recipient_products(other, other_recipient.id, &strings(&["sales"]))
            .await;
        assert_not_found_named(result, "sales", "product of another tenant");
    }

    assert_eq!(
        recipient_products(db, tenant, recipient.id).await,
        strings(&["sales"])
    );
}

async fn case_models_for_recipient(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    insert_models(db, tenant, &["orders", "customers", "refunds", "tickets"]).await;
    insert_models(db, staging(&globex), &["invoices"]).await;
    insert_models(db, production(&acme), &["payouts"]).await;
    insert_product(db, &new_product(tenant, "sales", &["orders", "refunds"])).await;
    insert_product(
        db,
        &new_product(tenant, "service", &["refunds", "customers"]),
    )
    .await;
    insert_product(db, &new_product(tenant, "empty", &[])).await;
    let recipient = db
        .store
        .upsert_recipient(tenant, "user-1")
        .await
        .expect("upsert_recipient failed");
    let all = strings(&["customers", "orders", "refunds", "tickets"]);

    assert_eq!(
        models_for_recipient(db, tenant, recipient.id).await,
        all,
        "a recipient without products receives every model"
    );
    assert_eq!(
        models_for_recipient(db, tenant, Uuid::new_v4()).await,
        all,
        "an unknown recipient has no products"
    );

    db.store
        .set_recipient_products(tenant, recipient.id, &strings(&["sales", "service"]))
        .await
        .expect("set_recipient_products failed");
    let models = db
        .store
        .list_models_for_recipient(tenant, recipient.id)
        .await
        .expect("list_models_for_recipient failed");
    assert_eq!(
        model_names(&models),
        strings(&["customers", "orders", "refunds"]),
        "the union of the products' models, each once, by name"
    );
    assert!(models.iter().all(|model| model.tenant == tenant));

    db.store
        .set_recipient_products(tenant, recipient.id, &strings(&["empty"]))
        .await
        .expect("set_recipient_products failed");
    assert!(
        models_for_recipient(db, tenant, recipient.id)
            .await
            .is_empty(),
        "products without models give no models"
    );

    for other in [staging(&globex), production(&acme)] {
        let names = models_for_recipient(db, other, recipient.id).await;
        assert_eq!(names.len(), 1, "tenant {other:?} sees only its own models");
        assert!(!all.contains(&names[0]), "tenant {other:?} sees {names:?}");
    }
}

fn new_ssh_key(openssh: &str, pkcs8: &str) -> SshKeyRecord {
    SshKeyRecord {
        id: Uuid::new_v4(),
        public_key_openssh: openssh.to_owned(),
        public_key_pkcs8: pkcs8.to_owned(),
        private_key_encrypted: vec![0, 1, 2, 253, 254, 255],
        created_at: now(),
    }
}

async fn case_ssh_keys(db: &TestDb) {
    let first = new_ssh_key(
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC1 scopegate",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1\n-----END PUBLIC KEY-----\n",
    );
    let second = new_ssh_key(
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC2 scopegate",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA2\n-----END PUBLIC KEY-----",
    );
    for key in [&first, &second] {
        db.store
            .insert_ssh_key(key)
            .await
            .expect("insert_ssh_key failed");
    }

    let lookups = [
        ("OpenSSH form", first.public_key_openssh.clone(), &first),
        (
            "PKCS#8 form as stored",
            first.public_key_pkcs8.clone(),
            &first,
        ),
        (
            "PKCS#8 form without the final newline",
            first.public_key_pkcs8.trim_end().to_owned(),
            &first,
        ),
        (
            "OpenSSH form with surrounding white space",
            format!(" \t{}\r\n", second.public_key_openssh),
            &second,
        ),
        (
            "PKCS#8 form with a final newline",
            format!("{}\n", second.public_key_pkcs8),
            &second,
        ),
    ];
    for (label, public_key, expected) in lookups {
        let found = db
            .store
            .find_ssh_key(&public_key)
            .await
            .expect("find_ssh_key failed");
        assert_eq!(found.as_ref(), Some(expected), "lookup by {label}");
    }

    let misses = [
        (
            "unknown key",
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC3 scopegate".to_owned(),
        ),
        ("different case", first.public_key_openssh.to_uppercase()),
        ("prefix of a key", "ssh-rsa AAAAB3NzaC1yc2E".to_owned()),
        ("empty string", String::new()),
        ("white space only", " \n".to_owned()),
    ];
    for (label, public_key) in misses {
        let found = db
            .store
            .find_ssh_key(&public_key)
            .await
            .expect("find_ssh_key failed");
        assert_eq!(found, None, "lookup by {label}");
    }

    let duplicates = [
        (
            "same OpenSSH form",
            new_ssh_key(
                &first.public_key_openssh,
                "-----BEGIN PUBLIC KEY-----\nother\n",
            ),
        ),
        (
            "same PKCS#8 form",
            new_ssh_key("ssh-rsa other", &first.public_key_pkcs8),
        ),
        (
            "same id",
            SshKeyRecord {
                public_key_openssh: "ssh-rsa third".to_owned(),
                public_key_pkcs8: "third".to_owned(),
                ..first.clone()
            },
        ),
    ];
    for (label, key) in duplicates {
        let result = db.store.insert_ssh_key(&key).await;
        assert!(
            matches!(result, Err(StoreError::Conflict(_))),
            "{label}: expected Conflict, got {result:?}"
        );
    }
}

/// Sort value and id of one listed row: the pair that keyset paging orders
/// by and that `Page::after` names.
type RowKey = (DateTime<Utc>, Uuid);

/// Returns eight times, four of them equal to the earliest, so page
/// boundaries fall between rows with equal times. The offsets of 1 µs and
/// 500 ms from a whole second give RFC 3339 texts with 0, 6 and 3 fraction
/// digits.
fn paging_times() -> Vec<DateTime<Utc>> {
    let start = whole_second();
    [
        TimeDelta::milliseconds(500),
        TimeDelta::zero(),
        TimeDelta::seconds(1),
        TimeDelta::microseconds(1),
        TimeDelta::zero(),
        TimeDelta::zero(),
        TimeDelta::microseconds(1),
        TimeDelta::zero(),
    ]
    .into_iter()
    .map(|offset| start + offset)
    .collect()
}

/// Returns the ids of `keys` in the order a keyset listing must use.
fn sorted_key_ids(keys: &[RowKey], descending: bool) -> Vec<Uuid> {
    let mut keys = keys.to_vec();
    keys.sort();
    if descending {
        keys.reverse();
    }
    keys.into_iter().map(|(_, id)| id).collect()
}

/// A listing of `Store` that pages by `(created_at, id)`.
enum Listing {
    Recipients {
        id_in_provider_system: Option<String>,
    },
    Destinations {
        recipient_id: Option<Uuid>,
    },
    AuditEvents(AuditFilter),
}

impl Listing {
    const ALL_RECIPIENTS: Listing = Listing::Recipients {
        id_in_provider_system: None,
    };
    const ALL_DESTINATIONS: Listing = Listing::Destinations { recipient_id: None };

    /// Lists one page and returns the key of each row.
    async fn list(&self, db: &TestDb, tenant: Tenant, page: &Page) -> Vec<RowKey> {
        match self {
            Listing::Recipients {
                id_in_provider_system,
            } => db
                .store
                .list_recipients(tenant, id_in_provider_system.as_deref(), page)
                .await
                .expect("list_recipients failed")
                .iter()
                .map(|recipient| (recipient.created_at, recipient.id))
                .collect(),
            Listing::Destinations { recipient_id } => db
                .store
                .list_destinations(tenant, *recipient_id, page)
                .await
                .expect("list_destinations failed")
                .iter()
                .map(|destination| (destination.created_at, destination.id))
                .collect(),
            Listing::AuditEvents(filter) => db
                .store
                .list_audit_events(tenant, filter, page)
                .await
                .expect("list_audit_events failed")
                .iter()
                .map(|event| (event.created_at, event.id))
                .collect(),
        }
    }
}

/// Lists every row of `listing` page by page, following `Page::after`, and
/// returns the ids of each page.
async fn listing_pages(
    db: &TestDb,
    tenant: Tenant,
    listing: &Listing,
    limit: u32,
    descending: bool,
) -> Vec<Vec<Uuid>> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = Page {
            limit,
            after,
            descending,
        };
        let keys = listing.list(db, tenant, &page).await;
        assert!(
            keys.len() <= limit as usize,
            "a page of limit {limit} returned {} rows",
            keys.len()
        );
        let Some(last) = keys.last() else {
            break;
        };
        after = Some(*last);
        pages.push(keys.iter().map(|(_, id)| *id).collect());
        assert!(pages.len() <= 100, "pagination does not end");
    }
    pages
}

/// Lists the ids of `listing` in one ascending page.
async fn listed_ids(db: &TestDb, tenant: Tenant, listing: &Listing) -> Vec<Uuid> {
    let page = Page {
        limit: 1000,
        after: None,
        descending: false,
    };
    let keys = listing.list(db, tenant, &page).await;
    keys.into_iter().map(|(_, id)| id).collect()
}

/// Checks keyset paging of `listing` in both directions, where `keys` are
/// exactly the rows the listing returns for `tenant` and carry the times
/// of [`paging_times`].
async fn check_keyset_paging(db: &TestDb, tenant: Tenant, listing: &Listing, keys: &[RowKey]) {
    // The earliest of the paging times is the one that four rows share.
    let start = keys
        .iter()
        .map(|(time, _)| *time)
        .min()
        .expect("no rows to page through");
    for descending in [false, true] {
        let direction = if descending {
            "descending"
        } else {
            "ascending"
        };
        let expected = sorted_key_ids(keys, descending);

        let pages = listing_pages(db, tenant, listing, 3, descending).await;
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![3, 3, 2], "{direction}: page sizes");
        assert_eq!(pages.concat(), expected, "{direction}: pages of three rows");

        let single = listing_pages(db, tenant, listing, 1, descending).await;
        assert_eq!(single.concat(), expected, "{direction}: pages of one row");

        let whole = listing_pages(db, tenant, listing, 100, descending).await;
        assert_eq!(
            whole,
            vec![expected.clone()],
            "{direction}: one page larger than the result"
        );

        // A cursor whose id lies between the ids of rows with the same time
        // keeps exactly the rows after it in the page's order.
        let tied_keys: Vec<RowKey> = keys
            .iter()
            .filter(|(time, _)| *time == start)
            .copied()
            .collect();
        let tied = sorted_key_ids(&tied_keys, descending);
        let position = expected
            .iter()
            .position(|id| *id == tied[1])
            .expect("the tied row is missing from the expected order");
        let page = Page {
            limit: 100,
            after: Some((start, tied[1])),
            descending,
        };
        let after_cursor: Vec<Uuid> = listing
            .list(db, tenant, &page)
            .await
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        assert_eq!(
            after_cursor,
            expected[position + 1..].to_vec(),
            "{direction}: cursor between rows of equal time"
        );

        let last = keys
            .iter()
            .find(|(_, id)| Some(id) == expected.last())
            .expect("the last row is missing");
        let page = Page {
            limit: 100,
            after: Some(*last),
            descending,
        };
        let beyond = listing.list(db, tenant, &page).await;
        assert!(
            beyond.is_empty(),
            "{direction}: no rows follow the last one"
        );

        let empty_page = Page {
            limit: 0,
            after: None,
            descending,
        };
        let none = listing.list(db, tenant, &empty_page).await;
        assert!(none.is_empty(), "{direction}: a page of limit 0");
    }
}

async fn case_api_key_role_roundtrip(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let admin = NewApiKey {
        role: ApiKeyRole::Admin,
        ..new_api_key(staging(&acme), now())
    };
    let standard = new_api_key(staging(&acme), now());

    let inserted = db
        .store
        .insert_api_key(&admin)
        .await
        .expect("insert_api_key failed");
    assert_eq!(inserted.role, ApiKeyRole::Admin);

    let by_hash = db
        .store
        .find_api_key_by_hash(&admin.key_hash)
        .await
        .expect("find_api_key_by_hash failed");
    assert_eq!(by_hash, Some(inserted.clone()));

    let by_id = db
        .store
        .get_api_key(admin.id)
        .await
        .expect("get_api_key failed");
    assert_eq!(by_id, Some(inserted));

    let standard_record = db
        .store
        .insert_api_key(&standard)
        .await
        .expect("insert_api_key failed");
    assert_eq!(standard_record.role, ApiKeyRole::Standard);
    let standard_by_id = db
        .store
        .get_api_key(standard.id)
        .await
        .expect("get_api_key failed")
        .expect("the standard key is missing");
    assert_eq!(standard_by_id.role, ApiKeyRole::Standard);
}

async fn case_api_key_get(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let acme_key = db
        .store
        .insert_api_key(&new_api_key(staging(&acme), now()))
        .await
        .expect("insert_api_key failed");
    let globex_key = db
        .store
        .insert_api_key(&new_api_key(production(&globex), now()))
        .await
        .expect("insert_api_key failed");

    for expected in [&acme_key, &globex_key] {
        let found = db
            .store
            .get_api_key(expected.id)
            .await
            .expect("get_api_key failed");
        assert_eq!(found.as_ref(), Some(expected), "keys of any organization");
    }

    let unknown = db
        .store
        .get_api_key(Uuid::new_v4())
        .await
        .expect("get_api_key of an unknown id failed");
    assert_eq!(unknown, None);
}

async fn case_api_key_expiry(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let key = db
        .store
        .insert_api_key(&new_api_key(staging(&acme), now()))
        .await
        .expect("insert_api_key failed");
    let neighbor = db
        .store
        .insert_api_key(&new_api_key(staging(&acme), now()))
        .await
        .expect("insert_api_key failed");

    let expires_at = now() + TimeDelta::days(30);
    let with_expiry = db
        .store
        .set_api_key_expiry(key.id, Some(expires_at))
        .await
        .expect("set_api_key_expiry failed")
        .expect("set_api_key_expiry returned None for an existing key");
    assert_eq!(
        with_expiry,
        ApiKeyRecord {
            expires_at: Some(expires_at),
            ..key.clone()
        },
        "only expires_at changes"
    );
    let found = db
        .store
        .get_api_key(key.id)
        .await
        .expect("get_api_key failed");
    assert_eq!(found, Some(with_expiry));

    let past = now() - TimeDelta::seconds(1);
    let expired = db
        .store
        .set_api_key_expiry(key.id, Some(past))
        .await
        .expect("set_api_key_expiry failed")
        .expect("set_api_key_expiry returned None");
    assert_eq!(expired.expires_at, Some(past));
    assert!(!expired.is_usable(Utc::now()));

    let cleared = db
        .store
        .set_api_key_expiry(key.id, None)
        .await
        .expect("clearing the expiry failed")
        .expect("set_api_key_expiry returned None");
    assert_eq!(cleared, key, "clearing restores the key as inserted");

    let untouched = db
        .store
        .get_api_key(neighbor.id)
        .await
        .expect("get_api_key failed");
    assert_eq!(untouched, Some(neighbor), "another key keeps its expiry");

    let unknown = db
        .store
        .set_api_key_expiry(Uuid::new_v4(), Some(expires_at))
        .await
        .expect("set_api_key_expiry of an unknown id failed");
    assert_eq!(unknown, None);
}

async fn last_used_at(db: &TestDb, id: Uuid) -> Option<DateTime<Utc>> {
    db.store
        .get_api_key(id)
        .await
        .expect("get_api_key failed")
        .expect("the API key is missing")
        .last_used_at
}

async fn case_api_key_touch(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let first = db
        .store
        .insert_api_key(&new_api_key(staging(&acme), now()))
        .await
        .expect("insert_api_key failed");
    let second = db
        .store
        .insert_api_key(&new_api_key(production(&globex), now()))
        .await
        .expect("insert_api_key failed");
    let untouched = db
        .store
        .insert_api_key(&new_api_key(staging(&acme), now()))
        .await
        .expect("insert_api_key failed");
    let start = whole_second();

    let half_second = start + TimeDelta::milliseconds(500);
    db.store
        .touch_api_keys(&[first.id, Uuid::new_v4(), second.id], half_second)
        .await
        .expect("touch_api_keys with an unknown id failed");
    assert_eq!(last_used_at(db, first.id).await, Some(half_second));
    assert_eq!(last_used_at(db, second.id).await, Some(half_second));
    assert_eq!(
        last_used_at(db, untouched.id).await,
        None,
        "a key not named stays unused"
    );

    // Earlier times, with 0 and 6 fraction digits, must not move it back.
    for earlier in [start, start + TimeDelta::microseconds(1)] {
        db.store
            .touch_api_keys(&[first.id], earlier)
            .await
            .expect("touch_api_keys failed");
        assert_eq!(
            last_used_at(db, first.id).await,
            Some(half_second),
            "touch at {earlier} moved last_used_at backwards"
        );
    }

    let later = start + TimeDelta::seconds(1);
    db.store
        .touch_api_keys(&[first.id], later)
        .await
        .expect("touch_api_keys failed");
    assert_eq!(last_used_at(db, first.id).await, Some(later));
    assert_eq!(
        last_used_at(db, second.id).await,
        Some(half_second),
        "only the named keys change"
    );

    db.store
        .touch_api_keys(&[], later + TimeDelta::seconds(1))
        .await
        .expect("touch_api_keys with no ids failed");
    db.store
        .touch_api_keys(&[Uuid::new_v4()], later + TimeDelta::seconds(1))
        .await
        .expect("touch_api_keys with only unknown ids failed");
    assert_eq!(last_used_at(db, first.id).await, Some(later));
    assert_eq!(last_used_at(db, untouched.id).await, None);
}

fn new_signing_key(kid: &str, created_at: DateTime<Utc>) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.to_owned(),
        public_key: kid.as_bytes().to_vec(),
        private_key_encrypted: [kid.as_bytes(), b"-sealed"].concat(),
        created_at,
        retired_at: None,
    }
}

async fn case_signing_key_retire(db: &TestDb) {
    let empty = db
        .store
        .list_all_signing_keys()
        .await
        .expect("list_all_signing_keys failed");
    assert!(empty.is_empty());

    let start = whole_second();
    let newest = new_signing_key("key-c", start + TimeDelta::milliseconds(500));
    let tied_b = new_signing_key("key-b", start);
    let tied_a = new_signing_key("key-a", start);
    let old = SigningKeyRecord {
        retired_at: Some(start - TimeDelta::days(1)),
        ..new_signing_key("key-0", start - TimeDelta::days(30))
    };
    for key in [&newest, &tied_b, &tied_a, &old] {
        db.store
            .insert_signing_key(key)
            .await
            .expect("insert_signing_key failed");
    }

    let retired_at = now();
    let changed = db
        .store
        .retire_signing_key("key-b", retired_at)
        .await
        .expect("retire_signing_key failed");
    assert!(changed);

    let again = db
        .store
        .retire_signing_key("key-b", retired_at + TimeDelta::seconds(5))
        .await
        .expect("second retire_signing_key failed");
    assert!(!again, "retiring a retired key changes nothing");

    let already_retired = db
        .store
        .retire_signing_key("key-0", retired_at)
        .await
        .expect("retire_signing_key failed");
    assert!(!already_retired);

    let unknown = db
        .store
        .retire_signing_key("key-missing", retired_at)
        .await
        .expect("retire_signing_key of an unknown kid failed");
    assert!(!unknown);

    let retired_b = SigningKeyRecord {
        retired_at: Some(retired_at),
        ..tied_b.clone()
    };
    let all = db
        .store
        .list_all_signing_keys()
        .await
        .expect("list_all_signing_keys failed");
    assert_eq!(
        all,
        vec![old.clone(), tied_a.clone(), retired_b, newest.clone()],
        "every key, oldest first, then by kid, keeping the first retirement time"
    );

    let active = db
        .store
        .list_signing_keys()
        .await
        .expect("list_signing_keys failed");
    assert_eq!(active, vec![tied_a, newest], "retired keys are not active");
}

fn new_audit_event(tenant: Tenant, action: &str, created_at: DateTime<Utc>) -> AuditEvent {
    AuditEvent {
        id: Uuid::new_v4(),
        tenant,
        action: action.to_owned(),
        api_key_id: None,
        recipient_id: None,
        details: json!({"origin": "https://app.example.com", "models": ["orders"]}),
        created_at,
    }
}

async fn insert_audit_event(db: &TestDb, event: &AuditEvent) {
    db.store
        .insert_audit_event(event)
        .await
        .expect("insert_audit_event failed");
}

async fn case_audit_event_roundtrip(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let full = AuditEvent {
        api_key_id: Some(Uuid::new_v4()),
        recipient_id: Some(Uuid::new_v4()),
        details: json!({"scopes": ["read", "write"], "ttl_seconds": 900, "note": null}),
        ..new_audit_event(tenant, "token.minted", now())
    };
    let bare = new_audit_event(
        tenant,
        "api_key.created",
        full.created_at + TimeDelta::seconds(1),
    );
    insert_audit_event(db, &full).await;
    insert_audit_event(db, &bare).await;

    let page = Page {
        limit: 10,
        after: None,
        descending: false,
    };
    let listed = db
        .store
        .list_audit_events(tenant, &AuditFilter::default(), &page)
        .await
        .expect("list_audit_events failed");
    assert_eq!(listed, vec![full.clone(), bare]);

    let result = db.store.insert_audit_event(&full).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "duplicate event id: expected Conflict, got {result:?}"
    );

    let orphan = new_audit_event(unknown_tenant(), "token.minted", now());
    let result = db.store.insert_audit_event(&orphan).await;
    assert!(
        matches!(result, Err(StoreError::NotFound(_))),
        "unknown organization: expected NotFound, got {result:?}"
    );
}

async fn case_audit_event_isolation(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    let recipient_id = Uuid::new_v4();
    let own = AuditEvent {
        recipient_id: Some(recipient_id),
        ..new_audit_event(tenant, "token.minted", now())
    };
    insert_audit_event(db, &own).await;

    for other in [staging(&globex), production(&acme)] {
        let filters = [
            AuditFilter::default(),
            AuditFilter {
                recipient_id: Some(recipient_id),
                ..AuditFilter::default()
            },
            AuditFilter {
                action: Some("token.minted".to_owned()),
                ..AuditFilter::default()
            },
        ];
        for filter in filters {
            let listed = listed_ids(db, other, &Listing::AuditEvents(filter)).await;
            assert!(
                listed.is_empty(),
                "audit events listed for tenant {other:?}"
            );
        }
    }

    let listed = listed_ids(db, tenant, &Listing::AuditEvents(AuditFilter::default())).await;
    assert_eq!(listed, vec![own.id]);
}

async fn case_audit_event_pages(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let mut keys = Vec::new();
    for created_at in paging_times() {
        let event = new_audit_event(tenant, "token.minted", created_at);
        insert_audit_event(db, &event).await;
        keys.push((event.created_at, event.id));
    }
    let elsewhere = new_audit_event(production(&acme), "token.minted", whole_second());
    insert_audit_event(db, &elsewhere).await;

    check_keyset_paging(
        db,
        tenant,
        &Listing::AuditEvents(AuditFilter::default()),
        &keys,
    )
    .await;
}

async fn case_audit_event_filters(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let first_recipient = Uuid::new_v4();
    let second_recipient = Uuid::new_v4();
    let start = whole_second();

    let minted = AuditEvent {
        recipient_id: Some(first_recipient),
        ..new_audit_event(tenant, "token.minted", start)
    };
    let denied = AuditEvent {
        recipient_id: Some(first_recipient),
        ..new_audit_event(tenant, "token.denied", start + TimeDelta::microseconds(1))
    };
    let minted_other = AuditEvent {
        recipient_id: Some(second_recipient),
        ..new_audit_event(tenant, "token.minted", start + TimeDelta::milliseconds(500))
    };
    let key_created = AuditEvent {
        api_key_id: Some(Uuid::new_v4()),
        ..new_audit_event(tenant, "api_key.created", start + TimeDelta::seconds(1))
    };
    let production_event = AuditEvent {
        recipient_id: Some(first_recipient),
        ..new_audit_event(production(&acme), "token.minted", start)
    };
    for event in [
        &minted,
        &denied,
        &minted_other,
        &key_created,
        &production_event,
    ] {
        insert_audit_event(db, event).await;
    }

    let cases = [
        (
            "no filter",
            AuditFilter::default(),
            vec![minted.id, denied.id, minted_other.id, key_created.id],
        ),
        (
            "recipient",
            AuditFilter {
                recipient_id: Some(first_recipient),
                ..AuditFilter::default()
            },
            vec![minted.id, denied.id],
        ),
        (
            "unknown recipient",
            AuditFilter {
                recipient_id: Some(Uuid::new_v4()),
                ..AuditFilter::default()
            },
            vec![],
        ),
        (
            "action",
            AuditFilter {
                action: Some("token.minted".to_owned()),
                ..AuditFilter::default()
            },
            vec![minted.id, minted_other.id],
        ),
        (
            "action without rows",
            AuditFilter {
                action: Some("token.revoked".to_owned()),
                ..AuditFilter::default()
            },
            vec![],
        ),
        (
            "from is inclusive",
            AuditFilter {
                from: Some(denied.created_at),
                ..AuditFilter::default()
            },
            vec![denied.id, minted_other.id, key_created.id],
        ),
        (
            "until is exclusive",
            AuditFilter {
                until: Some(minted_other.created_at),
                ..AuditFilter::default()
            },
            vec![minted.id, denied.id],
        ),
        (
            "time window",
            AuditFilter {
                from: Some(denied.created_at),
                until: Some(key_created.created_at),
                ..AuditFilter::default()
            },
            vec![denied.id, minted_other.id],
        ),
        (
            "empty time window",
            AuditFilter {
                from: Some(denied.created_at),
                until: Some(denied.created_at),
                ..AuditFilter::default()
            },
            vec![],
        ),
        (
            "recipient and action",
            AuditFilter {
                recipient_id: Some(first_recipient),
                action: Some("token.minted".to_owned()),
                ..AuditFilter::default()
            },
            vec![minted.id],
        ),
        (
            "every field",
            AuditFilter {
                recipient_id: Some(second_recipient),
                action: Some("token.minted".to_owned()),
                from: Some(start),
                until: Some(key_created.created_at),
            },
            vec![minted_other.id],
        ),
    ];
    for (label, filter, expected) in cases {
        let listing = Listing::AuditEvents(filter);
        let listed = listed_ids(db, tenant, &listing).await;
        assert_eq!(listed, expected, "filter: {label}");

        let mut reversed = expected.clone();
        reversed.reverse();
        let pages = listing_pages(db, tenant, &listing, 1, true).await;
        assert_eq!(pages.concat(), reversed, "filter {label}, descending pages");
    }
}

fn new_recipient(
    tenant: Tenant,
    id_in_provider_system: &str,
    created_at: DateTime<Utc>,
) -> Recipient {
    Recipient {
        id: Uuid::new_v4(),
        tenant,
        id_in_provider_system: id_in_provider_system.to_owned(),
        name: Some(format!("Customer {id_in_provider_system}")),
        created_at,
    }
}

async fn insert_recipient(db: &TestDb, recipient: &Recipient) -> Recipient {
    db.store
        .insert_recipient(recipient)
        .await
        .expect("insert_recipient failed")
}

async fn case_recipient_insert(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);

    let named = new_recipient(tenant, "user-1", now());
    let inserted = insert_recipient(db, &named).await;
    assert_eq!(inserted, named);
    let found = db
        .store
        .get_recipient(tenant, named.id)
        .await
        .expect("get_recipient failed");
    assert_eq!(found, Some(named.clone()));

    let unnamed = Recipient {
        name: None,
        ..new_recipient(tenant, "user-2", now())
    };
    assert_eq!(insert_recipient(db, &unnamed).await, unnamed);

    let upserted = db
        .store
        .upsert_recipient(tenant, "user-1")
        .await
        .expect("upsert_recipient failed");
    assert_eq!(upserted, named, "upsert_recipient finds the inserted row");

    let same_provider_id = new_recipient(tenant, "user-1", now());
    let result = db.store.insert_recipient(&same_provider_id).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "duplicate id_in_provider_system: expected Conflict, got {result:?}"
    );

    let same_id = Recipient {
        id_in_provider_system: "user-3".to_owned(),
        ..named.clone()
    };
    let result = db.store.insert_recipient(&same_id).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "duplicate id: expected Conflict, got {result:?}"
    );

    for other in [staging(&globex), production(&acme)] {
        let elsewhere = new_recipient(other, "user-1", now());
        assert_eq!(
            insert_recipient(db, &elsewhere).await,
            elsewhere,
            "one provider id may exist once per tenant"
        );
    }

    let orphan = new_recipient(unknown_tenant(), "user-1", now());
    let result = db.store.insert_recipient(&orphan).await;
    assert!(
        matches!(result, Err(StoreError::NotFound(_))),
        "unknown organization: expected NotFound, got {result:?}"
    );

    assert_eq!(
        listed_ids(db, tenant, &Listing::ALL_RECIPIENTS).await,
        vec![named.id, unnamed.id],
        "rejected inserts must not add rows"
    );
}

async fn case_recipient_rename(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    let recipient = insert_recipient(db, &new_recipient(tenant, "user-1", now())).await;
    let neighbor = insert_recipient(db, &new_recipient(tenant, "user-2", now())).await;

    let renamed = db
        .store
        .update_recipient_name(tenant, recipient.id, Some("Acme Retail"))
        .await
        .expect("update_recipient_name failed")
        .expect("update_recipient_name returned None for an existing recipient");
    assert_eq!(
        renamed,
        Recipient {
            name: Some("Acme Retail".to_owned()),
            ..recipient.clone()
        },
        "only the name changes"
    );
    let found = db
        .store
        .get_recipient(tenant, recipient.id)
        .await
        .expect("get_recipient failed");
    assert_eq!(found, Some(renamed.clone()));

    let cleared = db
        .store
        .update_recipient_name(tenant, recipient.id, None)
        .await
        .expect("clearing the name failed")
        .expect("update_recipient_name returned None");
    assert_eq!(cleared.name, None);

    for other in [staging(&globex), production(&acme)] {
        let result = db
            .store
            .update_recipient_name(other, recipient.id, Some("Hijacked"))
            .await
            .expect("update_recipient_name from another tenant failed");
        assert_eq!(result, None, "recipient renamed by tenant {other:?}");
    }

    let unknown = db
        .store
        .update_recipient_name(tenant, Uuid::new_v4(), Some("Nobody"))
        .await
        .expect("update_recipient_name of an unknown id failed");
    assert_eq!(unknown, None);

    let stored = db
        .store
        .get_recipient(tenant, recipient.id)
        .await
        .expect("get_recipient failed");
    assert_eq!(stored, Some(cleared), "rejected renames must not write");
    let neighbor_stored = db
        .store
        .get_recipient(tenant, neighbor.id)
        .await
        .expect("get_recipient failed");
    assert_eq!(
        neighbor_stored,
        Some(neighbor),
        "another recipient keeps its name"
    );
}

async fn case_recipient_pages(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    let mut keys = Vec::new();
    for (index, created_at) in paging_times().into_iter().enumerate() {
        let recipient = insert_recipient(
            db,
            &new_recipient(tenant, &format!("user-{index}"), created_at),
        )
        .await;
        keys.push((recipient.created_at, recipient.id));
    }
    for other in [staging(&globex), production(&acme)] {
        insert_recipient(db, &new_recipient(other, "user-0", whole_second())).await;
    }

    check_keyset_paging(db, tenant, &Listing::ALL_RECIPIENTS, &keys).await;
}

async fn case_recipient_list_filter(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    let start = whole_second();
    let matching = insert_recipient(db, &new_recipient(tenant, "user-1", start)).await;
    insert_recipient(db, &new_recipient(tenant, "user-10", start)).await;
    insert_recipient(db, &new_recipient(tenant, "USER-1", start)).await;
    insert_recipient(db, &new_recipient(staging(&globex), "user-1", start)).await;

    let by_provider_id = |id: &str| Listing::Recipients {
        id_in_provider_system: Some(id.to_owned()),
    };
    for descending in [false, true] {
        let page = Page {
            limit: 10,
            after: None,
            descending,
        };
        let listed = db
            .store
            .list_recipients(tenant, Some("user-1"), &page)
            .await
            .expect("list_recipients failed");
        assert_eq!(
            listed,
            vec![matching.clone()],
            "exact match only, descending {descending}"
        );
    }

    let beyond = Page {
        limit: 10,
        after: Some((matching.created_at, matching.id)),
        descending: false,
    };
    let after_match = db
        .store
        .list_recipients(tenant, Some("user-1"), &beyond)
        .await
        .expect("list_recipients failed");
    assert!(after_match.is_empty(), "no rows follow the only match");

    let unknown = listed_ids(db, tenant, &by_provider_id("user-2")).await;
    assert!(unknown.is_empty(), "an unknown provider id lists nothing");

    let other_environment = listed_ids(db, production(&acme), &by_provider_id("user-1")).await;
    assert!(other_environment.is_empty());
    let everyone = listed_ids(db, tenant, &Listing::ALL_RECIPIENTS).await;
    assert_eq!(everyone.len(), 3);
}

/// A recipient with two destinations, each with one transfer.
struct RecipientTree {
    recipient: Recipient,
    destinations: Vec<Destination>,
    transfers: Vec<Transfer>,
}

async fn recipient_tree(db: &TestDb, tenant: Tenant, id_in_provider_system: &str) -> RecipientTree {
    let recipient =
        insert_recipient(db, &new_recipient(tenant, id_in_provider_system, now())).await;
    let mut destinations = Vec::new();
    let mut transfers = Vec::new();
    for _ in 0..2 {
        let destination = db
            .store
            .insert_destination(&new_destination(tenant, recipient.id, now()))
            .await
            .expect("insert_destination failed");
        transfers.push(insert_transfer(db, &new_transfer(&destination, now())).await);
        destinations.push(destination);
    }
    RecipientTree {
        recipient,
        destinations,
        transfers,
    }
}

async fn case_recipient_delete(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    insert_product(db, &new_product(tenant, "sales", &[])).await;
    let recipient = insert_recipient(db, &new_recipient(tenant, "user-1", now())).await;
    let neighbor = insert_recipient(db, &new_recipient(tenant, "user-2", now())).await;
    for id in [recipient.id, neighbor.id] {
        db.store
            .set_recipient_products(tenant, id, &strings(&["sales"]))
            .await
            .expect("set_recipient_products failed");
    }

    let deleted = db
        .store
        .delete_recipient(tenant, recipient.id, false)
        .await
        .expect("delete_recipient failed");
    assert!(deleted);
    let found = db
        .store
        .get_recipient(tenant, recipient.id)
        .await
        .expect("get_recipient failed");
    assert_eq!(found, None);
    assert!(
        recipient_products(db, tenant, recipient.id)
            .await
            .is_empty(),
        "deleting a recipient must delete its product assignments"
    );
    assert_eq!(
        recipient_products(db, tenant, neighbor.id).await,
        strings(&["sales"]),
        "another recipient keeps its products"
    );

    for cascade in [false, true] {
        let again = db
            .store
            .delete_recipient(tenant, recipient.id, cascade)
            .await
            .expect("second delete_recipient failed");
        assert!(!again, "a second delete must report a missing row");

        let unknown = db
            .store
            .delete_recipient(tenant, Uuid::new_v4(), cascade)
            .await
            .expect("delete_recipient of an unknown id failed");
        assert!(!unknown);
    }
}

async fn case_recipient_delete_conflict(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let tree = recipient_tree(db, tenant, "user-1").await;

    let result = db
        .store
        .delete_recipient(tenant, tree.recipient.id, false)
        .await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "recipient with destinations: expected Conflict, got {result:?}"
    );

    let found = db
        .store
        .get_recipient(tenant, tree.recipient.id)
        .await
        .expect("get_recipient failed");
    assert_eq!(
        found,
        Some(tree.recipient.clone()),
        "a conflict must not delete"
    );
    let destinations = listed_ids(
        db,
        tenant,
        &Listing::Destinations {
            recipient_id: Some(tree.recipient.id),
        },
    )
    .await;
    assert_eq!(destinations, destination_ids(&tree.destinations));
    let transfers = listed_transfer_ids(db, tenant, &TransferFilter::default()).await;
    assert_eq!(transfers.len(), tree.transfers.len());
}

async fn case_recipient_delete_cascade(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let doomed = recipient_tree(db, tenant, "user-1").await;
    let survivor = recipient_tree(db, tenant, "user-2").await;

    let deleted = db
        .store
        .delete_recipient(tenant, doomed.recipient.id, true)
        .await
        .expect("delete_recipient with cascade failed");
    assert!(deleted);

    let found = db
        .store
        .get_recipient(tenant, doomed.recipient.id)
        .await
        .expect("get_recipient failed");
    assert_eq!(found, None);
    for destination in &doomed.destinations {
        let found = db
            .store
            .get_destination(tenant, destination.id)
            .await
            .expect("get_destination failed");
        assert_eq!(found, None, "cascade must delete the destinations");
    }
    for transfer in &doomed.transfers {
        let found = db
            .store
            .get_transfer(tenant, transfer.id)
            .await
            .expect("get_transfer failed");
        assert_eq!(found, None, "cascade must delete the transfers");
    }

    let destinations = listed_ids(db, tenant, &Listing::ALL_DESTINATIONS).await;
    assert_eq!(destinations, destination_ids(&survivor.destinations));
    let transfers = listed_transfer_ids(db, tenant, &TransferFilter::default()).await;
    assert_eq!(transfers, transfer_ids(&survivor.transfers));
}

async fn case_recipient_delete_isolation(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    let tree = recipient_tree(db, tenant, "user-1").await;

    for other in [staging(&globex), production(&acme)] {
        for cascade in [false, true] {
            let deleted = db
                .store
                .delete_recipient(other, tree.recipient.id, cascade)
                .await
                .expect("delete_recipient from another tenant failed");
            assert!(!deleted, "recipient deleted by tenant {other:?}");
        }
    }

    let found = db
        .store
        .get_recipient(tenant, tree.recipient.id)
        .await
        .expect("get_recipient failed");
    assert_eq!(found, Some(tree.recipient));
    let destinations = listed_ids(db, tenant, &Listing::ALL_DESTINATIONS).await;
    assert_eq!(destinations, destination_ids(&tree.destinations));
    let transfers = listed_transfer_ids(db, tenant, &TransferFilter::default()).await;
    assert_eq!(transfers, transfer_ids(&tree.transfers));
}

async fn case_destination_pages(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    let first = insert_recipient(db, &new_recipient(tenant, "user-1", now())).await;
    let second = insert_recipient(db, &new_recipient(tenant, "user-2", now())).await;
    let mut keys = Vec::new();
    let mut first_keys = Vec::new();
    for (index, created_at) in paging_times().into_iter().enumerate() {
        let owner = if index % 2 == 0 { &first } else { &second };
        let destination = db
            .store
            .insert_destination(&new_destination(tenant, owner.id, created_at))
            .await
            .expect("insert_destination failed");
        keys.push((destination.created_at, destination.id));
        if owner.id == first.id {
            first_keys.push((destination.created_at, destination.id));
        }
    }
    for other in [staging(&globex), production(&acme)] {
        let foreign = insert_recipient(db, &new_recipient(other, "user-1", now())).await;
        db.store
            .insert_destination(&new_destination(other, foreign.id, whole_second()))
            .await
            .expect("insert_destination failed");
    }

    check_keyset_paging(db, tenant, &Listing::ALL_DESTINATIONS, &keys).await;

    let of_first = Listing::Destinations {
        recipient_id: Some(first.id),
    };
    for descending in [false, true] {
        let pages = listing_pages(db, tenant, &of_first, 1, descending).await;
        assert_eq!(
            pages.concat(),
            sorted_key_ids(&first_keys, descending),
            "one recipient's destinations, descending {descending}"
        );
    }

    let listed = db
        .store
        .list_destinations(
            tenant,
            Some(first.id),
            &Page {
                limit: 100,
                after: None,
                descending: false,
            },
        )
        .await
        .expect("list_destinations failed");
    assert!(
        listed
            .iter()
            .all(|destination| destination.id_in_provider_system == "user-1"
                && destination.tenant == tenant),
        "rows carry their recipient's provider id and tenant"
    );

    let unknown = Listing::Destinations {
        recipient_id: Some(Uuid::new_v4()),
    };
    assert!(listed_ids(db, tenant, &unknown).await.is_empty());
}

async fn case_destination_list_isolation(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let tenant = staging(&acme);
    let tree = recipient_tree(db, tenant, "user-1").await;

    for other in [staging(&globex), production(&acme)] {
        for listing in [
            Listing::ALL_DESTINATIONS,
            Listing::Destinations {
                recipient_id: Some(tree.recipient.id),
            },
        ] {
            let listed = listed_ids(db, other, &listing).await;
            assert!(
                listed.is_empty(),
                "destinations listed for tenant {other:?}"
            );
        }
        let recipients = listed_ids(db, other, &Listing::ALL_RECIPIENTS).await;
        assert!(
            recipients.is_empty(),
            "recipients listed for tenant {other:?}"
        );
    }

    let own = listed_ids(db, tenant, &Listing::ALL_DESTINATIONS).await;
    assert_eq!(own, destination_ids(&tree.destinations));
}

/// Collects sealed values into a set of `(kind, id, sealed)`, so two
/// listings compare without regard to order.
fn sealed_set(values: Vec<SealedValue>) -> HashSet<(SealedKind, String, Vec<u8>)> {
    values
        .into_iter()
        .map(|value| (value.kind, value.id, value.sealed))
        .collect()
}

async fn stored_sealed_values(db: &TestDb) -> HashSet<(SealedKind, String, Vec<u8>)> {
    let values = db
        .store
        .list_sealed_values()
        .await
        .expect("list_sealed_values failed");
    let count = values.len();
    let set = sealed_set(values);
    assert_eq!(set.len(), count, "list_sealed_values repeated a value");
    set
}

async fn case_sealed_values_list(db: &TestDb) {
    let empty = stored_sealed_values(db).await;
    assert!(empty.is_empty());

    let acme = organization(db, "acme").await;
    let globex = organization(db, "globex").await;
    let active = new_signing_key("key-a", now());
    let retired = SigningKeyRecord {
        retired_at: Some(now()),
        ..new_signing_key("key-0", now() - TimeDelta::days(1))
    };
    for key in [&active, &retired] {
        db.store
            .insert_signing_key(key)
            .await
            .expect("insert_signing_key failed");
    }
    let acme_destination = transfer_parents(db, staging(&acme), "user-1")
        .await
        .destination;
    let globex_destination = transfer_parents(db, production(&globex), "user-1")
        .await
        .destination;
    let recipient = db
        .store
        .upsert_recipient(staging(&acme), "user-2")
        .await
        .expect("upsert_recipient failed");
    db.store
        .insert_destination(&NewDestination {
            secrets: None,
            ..new_destination(staging(&acme), recipient.id, now())
        })
        .await
        .expect("insert_destination without secrets failed");
    let ssh_key = new_ssh_key(
        "ssh-rsa AAAAB3NzaC1yc2E sealed",
        "-----BEGIN PUBLIC KEY-----\nsealed\n",
    );
    db.store
        .insert_ssh_key(&ssh_key)
        .await
        .expect("insert_ssh_key failed");

    let mut expected = HashSet::new();
    for key in [&active, &retired] {
        expected.insert((
            SealedKind::SigningKey,
            key.kid.clone(),
            key.private_key_encrypted.clone(),
        ));
    }
    for destination in [&acme_destination, &globex_destination] {
        expected.insert((
            SealedKind::DestinationSecrets,
            destination.id.to_string(),
            destination
                .secrets
                .clone()
                .expect("the destination has no secrets"),
        ));
    }
    expected.insert((
        SealedKind::SshKey,
        ssh_key.id.to_string(),
        ssh_key.private_key_encrypted.clone(),
    ));
    assert_eq!(
        stored_sealed_values(db).await,
        expected,
        "every signing key, destination secret and SSH key, in every organization"
    );
}

async fn case_sealed_value_replace(db: &TestDb) {
    let acme = organization(db, "acme").await;
    let tenant = staging(&acme);
    let signing_key = new_signing_key("key-a", now());
    db.store
        .insert_signing_key(&signing_key)
        .await
        .expect("insert_signing_key failed");
    let destination = transfer_parents(db, tenant, "user-1").await.destination;
    let ssh_key = new_ssh_key(
        "ssh-rsa AAAAB3NzaC1yc2E replace",
        "-----BEGIN PUBLIC KEY-----\nreplace\n",
    );
    db.store
        .insert_ssh_key(&ssh_key)
        .await
        .expect("insert_ssh_key failed");

    let originals = stored_sealed_values(db).await;
    assert_eq!(originals.len(), 3);
    for (kind, id, sealed) in &originals {
        let resealed = SealedValue {
            kind: *kind,
            id: id.clone(),
            sealed: [b"resealed-".as_slice(), sealed].concat(),
        };
        let replaced = db
            .store
            .replace_sealed_value(&resealed, sealed)
            .await
            .expect("replace_sealed_value failed");
        assert!(replaced, "{kind:?} {id}: replace with the current value");

        let stale = SealedValue {
            sealed: b"stale writer".to_vec(),
            ..resealed.clone()
        };
        let replaced = db
            .store
            .replace_sealed_value(&stale, sealed)
            .await
            .expect("replace_sealed_value with a stale previous failed");
        assert!(!replaced, "{kind:?} {id}: previous no longer matches");

        let stored = stored_sealed_values(db).await;
        assert!(
            stored.contains(&(*kind, id.clone(), resealed.sealed.clone())),
            "{kind:?} {id}: the first replacement must stay"
        );
    }

    let found_key = db
        .store
        .list_all_signing_keys()
        .await
        .expect("list_all_signing_keys failed");
    assert_eq!(
        found_key[0].private_key_encrypted,
        [b"resealed-".as_slice(), &signing_key.private_key_encrypted].concat()
    );
    let found_destination = db
        .store
        .get_destination(tenant, destination.id)
        .await
        .expect("get_destination failed")
        .expect("the destination is missing");
    let original_secrets = destination
        .secrets
        .clone()
        .expect("the destination has no secrets");
    assert_eq!(
        found_destination.secrets,
        Some([b"resealed-".as_slice(), &original_secrets].concat())
    );
    assert_eq!(
        found_destination.updated_at, destination.updated_at,
        "resealing is not an edit of the destination"
    );
    let found_ssh_key = db
        .store
        .find_ssh_key(&ssh_key.public_key_openssh)
        .await
        .expect("find_ssh_key failed")
        .expect("the SSH key is missing");
    assert_eq!(
        found_ssh_key.private_key_encrypted,
        [b"resealed-".as_slice(), &ssh_key.private_key_encrypted].concat()
    );

    let upper_case = SealedValue {
        kind: SealedKind::SshKey,
        id: ssh_key.id.to_string().to_uppercase(),
        sealed: b"upper".to_vec(),
    };
    let replaced = db
        .store
        .replace_sealed_value(&upper_case, &found_ssh_key.private_key_encrypted)
        .await
        .expect("replace_sealed_value with an upper-case id failed");
    assert!(replaced, "an upper-case UUID names the same row");

    let unknown_rows = [
        (SealedKind::SigningKey, "key-missing".to_owned()),
        (SealedKind::DestinationSecrets, Uuid::new_v4().to_string()),
        (SealedKind::SshKey, Uuid::new_v4().to_string()),
    ];
    for (kind, id) in unknown_rows {
        let value = SealedValue {
            kind,
            id: id.clone(),
            sealed: b"new".to_vec(),
        };
        let replaced = db
            .store
            .replace_sealed_value(&value, b"old")
            .await
            .expect("replace_sealed_value of an unknown row failed");
        assert!(!replaced, "{kind:?} {id}: unknown row");
    }

    for kind in [SealedKind::DestinationSecrets, SealedKind::SshKey] {
        let value = SealedValue {
            kind,
            id: "not-a-uuid".to_owned(),
            sealed: b"new".to_vec(),
        };
        let result = db.store.replace_sealed_value(&value, b"old").await;
        assert!(
            matches!(result, Err(StoreError::NotFound(_))),
            "{kind:?} with a malformed id: expected NotFound, got {result:?}"
        );
    }

    let recipient = db
        .store
        .upsert_recipient(tenant, "user-2")
        .await
        .expect("upsert_recipient failed");
    let without_secrets = db
        .store
        .insert_destination(&NewDestination {
            secrets: None,
            ..new_destination(tenant, recipient.id, now())
        })
        .await
        .expect("insert_destination without secrets failed");
    let value = SealedValue {
        kind: SealedKind::DestinationSecrets,
        id: without_secrets.id.to_string(),
        sealed: b"new".to_vec(),
    };
    let replaced = db
        .store
        .replace_sealed_value(&value, b"")
        .await
        .expect("replace_sealed_value of a destination without secrets failed");
    assert!(
        !replaced,
        "a destination without secrets has nothing to replace"
    );
}

/// Tells whether the database behind a dropped or live `TestDb` exists.
async fn test_database_exists(backend: Backend, url: &str) -> bool {
    match backend {
        Backend::Postgres => {
            let name = common::db::postgres_database_name(url)
                .expect("the PostgreSQL test URL has no database name");
            common::db::postgres_database_names()
                .await
                .iter()
                .any(|existing| existing == name)
        }
        Backend::Sqlite => {
            let path = url
                .strip_prefix("sqlite://")
                .expect("the SQLite test URL does not start with sqlite://");
            Path::new(path).exists()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_db_drop_removes_database() {
    for backend in Backend::ALL {
        let db = TestDb::new(backend).await;
        let url = db.url.clone();
        assert!(
            test_database_exists(backend, &url).await,
            "{backend} backend: {url} is missing while the TestDb lives"
        );

        drop(db);
        assert!(
            !test_database_exists(backend, &url).await,
            "{backend} backend: {url} still exists after drop"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_db_drop_after_panic() {
    for backend in Backend::ALL {
        let (url_sender, url_receiver) = tokio::sync::oneshot::channel();
        let outcome = tokio::spawn(async move {
            let db = TestDb::new(backend).await;
            let _ = url_sender.send(db.url.clone());
            panic!("deliberate panic to check that the test database is removed");
        })
        .await;
        assert!(
            outcome.is_err_and(|error| error.is_panic()),
            "{backend} backend: the task did not panic"
        );

        let url = url_receiver
            .await
            .expect("the panicking task sent no database URL");
        assert!(
            !test_database_exists(backend, &url).await,
            "{backend} backend: {url} still exists after a panic"
        );
    }
}

#[test]
fn test_db_url_with_database() {
    let cases = [
        (
            "postgres://postgres@127.0.0.1:5432/postgres",
            "postgres://postgres@127.0.0.1:5432/scratch",
        ),
        (
            "postgres://postgres@127.0.0.1:5432",
            "postgres://postgres@127.0.0.1:5432/scratch",
        ),
        (
            "postgres://user:secret@127.0.0.1/postgres?sslmode=disable",
            "postgres://user:secret@127.0.0.1/scratch?sslmode=disable",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            common::db::url_with_database(input, "scratch"),
            expected,
            "input {input}"
        );
    }
}
