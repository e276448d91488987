//! Demo users and the tenant each belongs to, read from a JSON file.
//!
//! NOTE: this file replaces the first party's own login for the demo. Its
//! passwords are plain text because they are demo values. A real backend
//! stores password hashes (Argon2, say) or delegates login to an identity
//! provider.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub username: String,
    password: String,
    /// The first party's id for the customer this user belongs to: the
    /// `id_in_provider_system` of every token minted for the user.
    pub tenant: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    users: Vec<User>,
}

/// The demo users by username.
#[derive(Debug)]
pub struct Users {
    by_username: HashMap<String, User>,
}

impl Users {
    /// Reads and checks a users file such as `users.json` beside Cargo.toml.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            anyhow::anyhow!("cannot read USERS_FILE {}: {error}", path.display())
        })?;
        Self::parse(&text)
            .map_err(|error| anyhow::anyhow!("USERS_FILE {} is invalid: {error}", path.display()))
    }

    /// Parses `{"users": [{"username", "password", "tenant"}, …]}`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let file: UsersFile = serde_json::from_str(text)?;
        let mut by_username = HashMap::new();
        for user in file.users {
            // The username is stored in the session cookie as `username:time`.
            let name_ok = !user.username.is_empty()
                && user
                    .username
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'));
            if !name_ok {
                anyhow::bail!(
                    "username {:?} must be non-empty ASCII letters, digits, '_', '-' or '.'",
                    user.username
                );
            }
            if user.tenant.trim().is_empty() {
                anyhow::bail!("user {} has an empty tenant", user.username);
            }
            if user.password.is_empty() {
                anyhow::bail!("user {} has an empty password", user.username);
            }
            let username = user.username.clone();
            if by_username.insert(username.clone(), user).is_some() {
                anyhow::bail!("username {username} appears twice");
            }
        }
        Ok(Self { by_username })
    }

    pub fn len(&self) -> usize {
        self.by_username.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_username.is_empty()
    }

    pub fn find(&self, username: &str) -> Option<&User> {
        self.by_username.get(username)
    }

    /// Returns the user when `password` is theirs. The comparison takes the
    /// same time wherever the first differing byte is.
    pub fn authenticate(&self, username: &str, password: &str) -> Option<&User> {
        let user = self.find(username)?;
        let matches: bool = user.password.as_bytes().ct_eq(password.as_bytes()).into();
        matches.then_some(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_USERS: &str = r#"{"users": [
        {"username": "alice", "password": "pw-a", "tenant": "tenant-a"},
        {"username": "bob", "password": "pw-b", "tenant": "tenant-b"}
    ]}"#;

    #[test]
    fn authenticate_checks_password() {
        let users = Users::parse(TWO_USERS).unwrap();

        assert_eq!(
            users
                .authenticate("alice", "pw-a")
                .map(|u| u.tenant.as_str()),
            Some("tenant-a")
        );
        assert!(users.authenticate("alice", "pw-b").is_none());
        assert!(users.authenticate("alice", "").is_none());
        assert!(users.authenticate("carol", "pw-a").is_none());
    }

    #[test]
    fn parse_rejects_duplicate_username() {
        let text = r#"{"users": [
            {"username": "alice", "password": "1", "tenant": "t1"},
            {"username": "alice", "password": "2", "tenant": "t2"}
        ]}"#;

        assert!(Users::parse(text).is_err());
    }

    #[test]
    fn parse_rejects_colon_in_username() {
        let text = r#"{"users": [{"username": "a:b", "password": "1", "tenant": "t1"}]}"#;

        assert!(Users::parse(text).is_err());
    }

    #[test]
    fn shipped_users_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("users.json");

        let users = Users::load(&path).unwrap();

        assert_eq!(
            users.find("alice").map(|u| u.tenant.as_str()),
            Some("tenant-a")
        );
        assert_eq!(
            users.find("bob").map(|u| u.tenant.as_str()),
            Some("tenant-b")
        );
    }
}
