//! The committed `openapi.json` equals `scopegate::openapi::document()`, the
//! router serves every operation the document lists, and the document lists
//! every route that the source registers.
//!
//! Regenerate `openapi.json` with
//! `SCOPEGATE_UPDATE_OPENAPI=1 cargo test --test openapi`.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::db::Backend;
use common::server::TestApp;
use serde_json::Value;

/// Environment variable that, set to any value, makes
/// `committed_copy_matches_document` rewrite `openapi.json` instead of
/// comparing.
const UPDATE_VAR: &str = "SCOPEGATE_UPDATE_OPENAPI";

/// Methods that the router registers, as OpenAPI path item keys.
const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Directories whose `.route("…", …)` calls build the router.
const ROUTE_SOURCES: [&str; 3] = ["src/routes", "src/ops", "src/openapi"];

/// Messages of the router's fallbacks for an unknown path and an unknown
/// method (`not_found` and `method_not_allowed` in src/app.rs).
const NO_ROUTE: &str = "no route matches this path";
const NO_METHOD: &str = "this route does not accept this method";

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rendered_document() -> String {
    let document = scopegate::openapi::document();
    let mut text = serde_json::to_string_pretty(&document).expect("the document serializes");
    text.push('\n');
    text
}

/// `(method, path)` of every operation in the document, the method in
/// upper case.
fn documented_operations() -> BTreeSet<(String, String)> {
    let document = serde_json::to_value(scopegate::openapi::document()).expect("serializes");
    let paths = document["paths"].as_object().expect("paths is an object");
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

#[test]
fn committed_copy_matches_document() {
    let path = manifest_dir().join("openapi.json");
    let expected = rendered_document();
    if std::env::var_os(UPDATE_VAR).is_some() {
        std::fs::write(&path, &expected).expect("write openapi.json");
        return;
    }

    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == expected {
        return;
    }
    let first_difference = committed
        .lines()
        .zip(expected.lines())
        .position(|(old, new)| old != new)
        .unwrap_or_else(|| committed.lines().count().min(expected.lines().count()));
    panic!(
        "openapi.json differs from scopegate::openapi::document(), first at line {}:\n  \
         committed: {}\n  generated: {}\nRegenerate it with `{UPDATE_VAR}=1 cargo test --test \
         openapi` and commit the result.",
        first_difference + 1,
        committed
            .lines()
            .nth(first_difference)
            .unwrap_or("<end of file>"),
        expected
            .lines()
            .nth(first_difference)
            .unwrap_or("<end of file>"),
    );
}

/// Collects the value of every `$ref` member in `value`.
fn collect_references(value: &Value, references: &mut BTreeSet<String>) {
    match value {
        Value::Object(members) => {
            for (name, member) in members {
                match (name.as_str(), member) {
                    ("$ref", Value::String(reference)) => {
                        references.insert(reference.clone());
                    }
                    _ => collect_references(member, references),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_references(item, references);
            }
        }
        _ => {}
    }
}

// utoipa 6 collects the schemas that bodies name, but not those that only
// query parameters name, and it does not check security scheme names.
#[test]
fn references_resolve() {
    let document = serde_json::to_value(scopegate::openapi::document()).expect("serializes");
    let mut references = BTreeSet::new();
    collect_references(&document, &mut references);
    assert!(!references.is_empty(), "the document has no $ref");

    let dangling: Vec<&String> = references
        .iter()
        .filter(|reference| {
            reference
                .strip_prefix('#')
                .and_then(|pointer| document.pointer(pointer))
                .is_none()
        })
        .collect();
    assert!(
        dangling.is_empty(),
        "$ref targets missing from the document: {dangling:?}"
    );

    let schemes = document["components"]["securitySchemes"]
        .as_object()
        .expect("securitySchemes is an object");
    let mut unknown_schemes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths is an object") {
        for method in METHODS {
            let requirements = item[method]["security"].as_array().into_iter().flatten();
            for requirement in requirements {
                let names = requirement.as_object().expect("requirement is an object");
                for name in names.keys().filter(|name| !schemes.contains_key(*name)) {
                    unknown_schemes.insert(format!("{method} {path}: {name}"));
                }
            }
        }
    }
    assert!(
        unknown_schemes.is_empty(),
        "security requirements that name no security scheme: {unknown_schemes:?}"
    );
}

/// Replaces each `{name}` segment with a UUID, which every path parameter
/// of this API accepts.
fn concrete_path(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "00000000-0000-0000-0000-000000000000"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

// Route matching does not depend on the store, so SQLite alone is enough.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_routes_are_served() {
    let app = TestApp::start(Backend::Sqlite).await;
    let operations = documented_operations();
    assert!(!operations.is_empty(), "the document lists no operation");

    let mut unserved = Vec::new();
    for (method, path) in &operations {
        // No credentials, so authenticated routes return 401 before acting.
        let response = app
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                app.url(&concrete_path(path)),
            )
            .send()
            .await
            .unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        let status = response.status().as_u16();
        let text = response.text().await.expect("response body");
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|body| body["message"].as_str().map(str::to_owned));
        let fallback = matches!(
            (status, message.as_deref()),
            (404, Some(NO_ROUTE)) | (405, Some(NO_METHOD))
        );
        if fallback {
            unserved.push(format!("{method} {path} ({status})"));
        }
    }
    assert!(
        unserved.is_empty(),
        "documented in scopegate::openapi but not served by the router: {unserved:?}"
    );
    app.stop().await;
}

/// Returns the text from the start of `text` to the `)` that closes a `(`
/// opened just before it.
fn until_closing_paren(text: &str) -> &str {
    let mut depth = 1;
    for (index, character) in text.char_indices() {
        match character {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[..index];
                }
            }
            _ => {}
        }
    }
    text
}

/// Collects `(method, path)` of every `.route("path", method_router)` call
/// in `source`. The method router is read for calls such as `get(…)` and
/// `.post(…)`.
fn scan_routes(source: &str, file: &Path, routes: &mut BTreeSet<(String, String)>) {
    const CALL: &str = ".route(";
    let mut rest = source;
    while let Some(start) = rest.find(CALL) {
        rest = &rest[start + CALL.len()..];
        let arguments = until_closing_paren(rest);
        let Some(literal) = arguments.trim_start().strip_prefix('"') else {
            panic!(
                "{}: a .route( call whose path is not a string literal: {}",
                file.display(),
                arguments.trim()
            );
        };
        let (path, method_router) = literal.split_once('"').expect("closing quote");

        let mut methods = 0;
        for method in METHODS {
            let call = format!("{method}(");
            for (index, _) in method_router.match_indices(&call) {
                let previous = method_router[..index].chars().next_back();
                if previous.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                routes.insert((method.to_uppercase(), path.to_owned()));
                methods += 1;
            }
        }
        assert!(
            methods > 0,
            "{}: no method found for route {path:?} in {method_router:?}",
            file.display()
        );
    }
}

#[test]
fn registered_routes_are_documented() {
    let mut registered = BTreeSet::new();
    for directory in ROUTE_SOURCES {
        let directory = manifest_dir().join(directory);
        let entries = std::fs::read_dir(&directory)
            .unwrap_or_else(|error| panic!("read {}: {error}", directory.display()));
        for entry in entries {
            let file = entry.expect("directory entry").path();
            if file.extension().is_some_and(|extension| extension == "rs") {
                let source = std::fs::read_to_string(&file).expect("read source file");
                scan_routes(&source, &file, &mut registered);
            }
        }
    }
    assert!(!registered.is_empty(), "no .route( call found");

    let documented = documented_operations();
    let undocumented: Vec<String> = registered
        .difference(&documented)
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert!(
        undocumented.is_empty(),
        "registered in {ROUTE_SOURCES:?} but missing from scopegate::openapi::document(): \
         {undocumented:?}. Add a #[utoipa::path] attribute to the handler and list it in \
         src/openapi/mod.rs, or add an entry to ALIASES for a second path of a documented \
         handler."
    );
}
