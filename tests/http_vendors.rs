//! The public catalogue routes: the vendor list and the destination form
//! tree, requested without credentials as the SDK's hooks request them.

mod common;

use common::db::Backend;
use common::server::{TestApp, read};
use serde_json::Value;

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

/// Sends a GET without credentials. `api_version` adds the version header
/// that `useDestinationForm` sends and `useDestinationVendors` does not.
async fn get(app: &TestApp, path: &str, api_version: bool) -> (u16, Value) {
    let mut request = app.client.get(app.url(path));
    if api_version {
        request = request.header("X-Prequel-Api-Version", "2023-12-01");
    }
    read(request.send().await.expect("request")).await
}

fn keys(options: &Value) -> Vec<&str> {
    options
        .as_array()
        .expect("enum is an array")
        .iter()
        .map(|option| option["key"].as_str().expect("key is a string"))
        .collect()
}

fn field_names(nodes: &Value) -> Vec<&str> {
    nodes
        .as_array()
        .expect("children is an array")
        .iter()
        .map(|node| node["name"].as_str().expect("name is a string"))
        .collect()
}

/// Returns every section id that `node` and its descendants use.
fn section_ids(node: &Value, ids: &mut Vec<u64>) {
    ids.push(
        node["attributes"]["section_id"]
            .as_u64()
            .expect("section_id"),
    );
    if let Some(children) = node["children"].as_array() {
        for child in children {
            section_ids(child, ids);
        }
    }
}

#[tokio::test]
async fn vendor_list_has_all_vendors() {
    let app = TestApp::start(Backend::Sqlite).await;

    let (status, body) = get(&app, "/public/destination-vendors", false).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success");
    assert!(body["message"].is_string(), "{body}");
    assert_eq!(keys(&body["data"]), VENDOR_KEYS);
    for vendor in body["data"].as_array().unwrap() {
        let display = vendor["display"].as_str().unwrap_or_default();
        assert!(!display.is_empty(), "no display name: {vendor}");
        let docs = vendor["docs"].as_str().unwrap_or_default();
        assert!(docs.starts_with("https://"), "no docs link: {vendor}");
    }
}

#[tokio::test]
async fn form_without_vendor_has_every_subtree() {
    let app = TestApp::start(Backend::Sqlite).await;

    let (status, body) = get(&app, "/public/forms/destination-vendors", true).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success");
    let form = &body["data"]["form"];
    assert_eq!(form["name"], "vendor");
    assert_eq!(form["attributes"]["form_element"], "select");
    assert_eq!(keys(&form["enum"]), VENDOR_KEYS);
    for vendor in VENDOR_KEYS {
        let has_subtree = form["children"]
            .as_array()
            .unwrap()
            .iter()
            .any(|node| node["parent"] == vendor);
        assert!(has_subtree, "no fields for {vendor}");
    }
    let titles: Vec<&str> = body["data"]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|section| section["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Destination",
            "Connection",
            "Authentication",
            "Staging bucket",
            "Advanced"
        ]
    );
}

#[tokio::test]
async fn form_for_vendor_has_only_its_subtree() {
    let app = TestApp::start(Backend::Sqlite).await;

    let path = "/public/forms/destination-vendors?org_id=any-org&vendor=postgres";
    let (status, body) = get(&app, path, true).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success");
    let form = &body["data"]["form"];
    assert_eq!(form["name"], "vendor");
    assert_eq!(keys(&form["enum"]), ["postgres"]);
    for node in form["children"].as_array().unwrap() {
        assert_eq!(node["parent"], "postgres", "{node}");
    }
    assert_eq!(
        field_names(&form["children"]),
        [
            "name",
            "host",
            "port",
            "database",
            "schema",
            "auth_method",
            "disable_ssl",
            "connection_timeout_in_seconds",
            "use_ssh_tunnel",
        ]
    );

    let auth = form["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["name"] == "auth_method")
        .unwrap();
    assert_eq!(keys(&auth["enum"]), ["password_auth"]);
    assert_eq!(field_names(&auth["children"]), ["username", "password"]);
    assert_eq!(auth["children"][1]["attributes"]["input_type"], "password");

    let mut used = Vec::new();
    section_ids(form, &mut used);
    for section in body["data"]["sections"].as_array().unwrap() {
        let id = section["id"].as_u64().unwrap();
        assert!(used.contains(&id), "section {id} is not used by postgres");
    }
}

#[tokio::test]
async fn form_for_object_store_omits_unused_sections() {
    let app = TestApp::start(Backend::Sqlite).await;

    let (status, body) = get(&app, "/public/forms/destination-vendors?vendor=s3", true).await;

    assert_eq!(status, 200, "{body}");
    let ids: Vec<u64> = body["data"]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|section| section["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(keys(&body["data"]["form"]["enum"]), ["s3"]);
}

#[tokio::test]
async fn unknown_vendor_is_enveloped_404() {
    let app = TestApp::start(Backend::Sqlite).await;

    let path = "/public/forms/destination-vendors?org_id=o&vendor=nosuchdb";
    let (status, body) = get(&app, path, true).await;

    assert_eq!(status, 404, "{body}");
    assert_eq!(body["status"], "error");
    assert_eq!(body["data"], Value::Null);
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("nosuchdb"), "{message}");
}

#[tokio::test]
async fn empty_vendor_returns_whole_tree() {
    let app = TestApp::start(Backend::Sqlite).await;

    let path = "/public/forms/destination-vendors?org_id=&vendor=";
    let (status, body) = get(&app, path, true).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body["data"]["form"]["enum"]), VENDOR_KEYS);
}

#[tokio::test]
async fn catalogue_ignores_bad_credentials() {
    let app = TestApp::start(Backend::Sqlite).await;

    for path in [
        "/public/destination-vendors",
        "/public/forms/destination-vendors?vendor=snowflake",
    ] {
        let response = app
            .client
            .get(app.url(path))
            .header("Authorization", "Bearer not-a-token")
            .header("X-API-KEY", "not-a-key")
            .send()
            .await
            .expect("request");
        let (status, body) = read(response).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["status"], "success", "{path}");
    }
}
