//! Behavior every `Store` backend must share. Each case runs once on
//! PostgreSQL and once on SQLite, each time on a fresh database.

mod common;

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use common::db::{Backend, TestDb};
use scopegate::store::{
    Destination, Environment, NewApiKey, NewDestination, Organization, SigningKeyRecord,
    StoreError, Tenant,
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
