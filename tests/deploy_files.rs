//! Keeps the deployment files in step with the code and the README: the
//! Dockerfile builds with the README's release command, and every setting
//! scopegate reads is documented in the README and in `.env.example`.

use std::collections::BTreeSet;
use std::path::Path;

/// Variables read outside `src/config.rs`: `RUST_LOG` by the log filter.
const READ_ELSEWHERE: &[&str] = &["RUST_LOG"];
/// Variables of `.env.example` that only docker-compose.yml uses.
const COMPOSE_ONLY: &[&str] = &["POSTGRES_PASSWORD"];

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full)
        .unwrap_or_else(|error| panic!("reading {} failed: {error}", full.display()))
}

/// String literals of `text` that name an environment variable.
fn variable_literals(text: &str) -> BTreeSet<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .filter(|literal| {
            (literal.starts_with("SCOPEGATE_") || *literal == "DATABASE_URL")
                && literal
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_owned)
        .collect()
}

/// Returns every variable scopegate reads.
fn variables_read() -> BTreeSet<String> {
    let mut variables = variable_literals(&read("src/config.rs"));
    variables.extend(READ_ELSEWHERE.iter().map(|name| (*name).to_owned()));
    variables
}

/// Names assigned in `.env.example`, commented out or not.
fn env_example_variables() -> BTreeSet<String> {
    read(".env.example")
        .lines()
        .map(|line| line.trim().trim_start_matches('#').trim())
        .filter_map(|line| line.split_once('='))
        .map(|(name, _)| name.trim())
        .filter(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_owned)
        .collect()
}

/// Returns each `cargo build …` command in `text`, up to `&&`, `\` or the line end.
fn cargo_build_commands(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.find("cargo build").map(|start| &line[start..]))
        .map(|command| {
            command
                .split("&&")
                .next()
                .unwrap_or(command)
                .trim_end_matches('\\')
                .trim()
                .to_owned()
        })
        .collect()
}

#[test]
fn config_reads_known_variables() {
    let variables = variables_read();
    for expected in [
        "SCOPEGATE_LISTEN",
        "DATABASE_URL",
        "SCOPEGATE_SHUTDOWN_TIMEOUT",
    ] {
        assert!(
            variables.contains(expected),
            "{expected} not found in src/config.rs"
        );
    }
}

#[test]
fn readme_documents_every_variable() {
    let readme = read("README.md");
    let missing: Vec<_> = variables_read()
        .into_iter()
        .filter(|name| !readme.contains(&format!("| `{name}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md has no table row for {missing:?}"
    );
}

#[test]
fn env_example_lists_every_variable() {
    let listed = env_example_variables();
    let missing: Vec<_> = variables_read()
        .into_iter()
        .filter(|name| !listed.contains(name))
        .collect();
    assert!(missing.is_empty(), ".env.example lacks {missing:?}");
}

#[test]
fn env_example_lists_only_known_variables() {
    let known = variables_read();
    let compose = read("docker-compose.yml");
    let unknown: Vec<_> = env_example_variables()
        .into_iter()
        .filter(|name| !known.contains(name))
        .filter(|name| !(COMPOSE_ONLY.contains(&name.as_str()) && compose.contains(name.as_str())))
        .collect();
    assert!(
        unknown.is_empty(),
        ".env.example lists variables nothing reads: {unknown:?}"
    );
}

#[test]
fn dockerfile_builds_like_readme() {
    let readme_commands = cargo_build_commands(&read("README.md"));
    let release: BTreeSet<_> = readme_commands
        .iter()
        .filter(|command| command.contains("--release"))
        .collect();
    assert_eq!(
        release.len(),
        1,
        "README.md should name one release build command: {readme_commands:?}"
    );
    let expected = release.into_iter().next().expect("one command");

    let dockerfile_commands = cargo_build_commands(&read("Dockerfile"));
    assert!(
        !dockerfile_commands.is_empty(),
        "the Dockerfile runs no cargo build"
    );
    for command in &dockerfile_commands {
        assert_eq!(
            command, expected,
            "the Dockerfile builds differently from README.md"
        );
    }
}

#[test]
fn dockerfile_copies_workspace_manifests() {
    let manifest = read("Cargo.toml");
    let dockerfile = read("Dockerfile");
    let members = manifest
        .split_once("members = [")
        .map(|(_, rest)| rest.split(']').next().unwrap_or_default())
        .unwrap_or_default();
    for member in members.split(',').map(|m| m.trim().trim_matches('"')) {
        if member.is_empty() {
            continue;
        }
        let copy = format!("COPY {member}/Cargo.toml {member}/");
        assert!(
            dockerfile.contains(&copy),
            "the dependency stage of the Dockerfile lacks `{copy}`, so cargo cannot load the workspace"
        );
    }
}

#[test]
fn dockerfile_runs_as_operators_expect() {
    let dockerfile = read("Dockerfile");
    for expected in [
        "SCOPEGATE_LISTEN=0.0.0.0:8080",
        "SCOPEGATE_LOG_FORMAT=json",
        "EXPOSE 8080",
        "USER 10001:10001",
        "CMD [\"scopegate\", \"healthcheck\"]",
        "VOLUME [\"/var/lib/scopegate/data\"]",
    ] {
        assert!(
            dockerfile.contains(expected),
            "the Dockerfile lacks {expected}"
        );
    }
    let instructions = dockerfile
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'));
    for line in instructions {
        assert!(
            !line.contains("curl"),
            "the image should not need curl: {line}"
        );
    }
}
