//! Application origins: the browser origin a token is bound to.
//!
//! Two origins match when host and port are equal. Schemes are compared only
//! when both sides carry one, because first parties mint with
//! `http://localhost:3000` while the SDK sends `X-APP-ID: localhost:3000`.
//! Matching is whole-value, never by prefix or suffix.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error("must not be empty")]
    Empty,
    #[error("must not be \"null\"")]
    Null,
    #[error("scheme must be http or https")]
    Scheme,
    #[error("must not contain a path, query or fragment")]
    Path,
    #[error("must not contain user information")]
    UserInfo,
    #[error("must not contain a wildcard")]
    Wildcard,
    #[error("host is missing or invalid")]
    Host,
    #[error("port is invalid")]
    Port,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: Option<String>,
    host: String,
    port: Option<u16>,
}

impl Origin {
    /// Parses `scheme://host[:port]` or `host[:port]`.
    pub fn parse(text: &str) -> Result<Self, OriginError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(OriginError::Empty);
        }
        if text.eq_ignore_ascii_case("null") {
            return Err(OriginError::Null);
        }
        if text.contains('*') {
            return Err(OriginError::Wildcard);
        }

        let (scheme, authority) = match text.split_once("://") {
            Some((scheme, rest)) => {
                let scheme = scheme.to_ascii_lowercase();
                if scheme != "http" && scheme != "https" {
                    return Err(OriginError::Scheme);
                }
                (Some(scheme), rest)
            }
            None => (None, text),
        };
        if authority.contains(['/', '?', '#', '\\']) {
            return Err(OriginError::Path);
        }
        if authority.contains('@') {
            return Err(OriginError::UserInfo);
        }

        let (host, port) = split_host_port(authority)?;
        let host_ok = !host.is_empty()
            && host.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']')
            });
        if !host_ok {
            return Err(OriginError::Host);
        }
        Ok(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    fn effective_port(&self) -> Option<u16> {
        self.port.or(match self.scheme.as_deref() {
            Some("http") => Some(80),
            Some("https") => Some(443),
            _ => None,
        })
    }

    /// Returns the form under which a vouched origin is stored: `scheme://host`
    /// with the port only when it is not the scheme's default, or
    /// `host[:port]` for an origin without scheme.
    pub fn canonical(&self) -> String {
        match &self.scheme {
            Some(scheme) => {
                let default = if scheme == "https" { 443 } else { 80 };
                match self.port.filter(|port| *port != default) {
                    Some(port) => format!("{scheme}://{}:{port}", self.host),
                    None => format!("{scheme}://{}", self.host),
                }
            }
            None => self.to_string(),
        }
    }

    /// Stored forms that a browser origin matches: its canonical form, and
    /// the scheme-less forms a mint may have used for the same host and port.
    pub fn lookup_keys(&self) -> Vec<String> {
        let mut keys = vec![self.canonical()];
        if let Some(port) = self.effective_port() {
            keys.push(format!("{}:{port}", self.host));
            if port == 80 || port == 443 {
                keys.push(self.host.clone());
            }
        }
        keys
    }

    /// Tells whether `other` names the same origin, in the sense of the
    /// module documentation. A side without scheme and port matches only a
    /// default port on the other side.
    pub fn matches(&self, other: &Origin) -> bool {
        if self.host != other.host {
            return false;
        }
        if let (Some(a), Some(b)) = (&self.scheme, &other.scheme)
            && a != b
        {
            return false;
        }
        match (self.effective_port(), other.effective_port()) {
            (Some(a), Some(b)) => a == b,
            (None, None) => true,
            (Some(port), None) | (None, Some(port)) => port == 80 || port == 443,
        }
    }
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), OriginError> {
    // Bracketed IPv6 literal, with or without a port.
    if authority.starts_with('[') {
        let end = authority.find(']').ok_or(OriginError::Host)?;
        let host = &authority[..=end];
        let rest = &authority[end + 1..];
        return match rest.strip_prefix(':') {
            Some(port) => Ok((host, Some(parse_port(port)?))),
            None if rest.is_empty() => Ok((host, None)),
            None => Err(OriginError::Host),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Ok((host, Some(parse_port(port)?))),
        None => Ok((authority, None)),
    }
}

fn parse_port(text: &str) -> Result<u16, OriginError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OriginError::Port);
    }
    text.parse().map_err(|_| OriginError::Port)
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(scheme) = &self.scheme {
            write!(f, "{scheme}://")?;
        }
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str) -> Origin {
        Origin::parse(text).expect("valid origin")
    }

    #[test]
    fn parse_rejects_unsafe_forms() {
        let cases = [
            ("", OriginError::Empty),
            ("null", OriginError::Null),
            ("https://*.example.com", OriginError::Wildcard),
            ("ftp://example.com", OriginError::Scheme),
            ("https://example.com/app", OriginError::Path),
            ("https://example.com/", OriginError::Path),
            ("https://example.com?x=1", OriginError::Path),
            ("https://user@example.com", OriginError::UserInfo),
            ("https://example.com:99999", OriginError::Port),
            ("https://example.com:", OriginError::Port),
            ("https://exa mple.com", OriginError::Host),
        ];
        for (text, expected) in cases {
            assert_eq!(Origin::parse(text), Err(expected), "{text}");
        }
    }

    #[test]
    fn scheme_is_compared_only_when_both_carry_one() {
        assert!(origin("http://localhost:3000").matches(&origin("localhost:3000")));
        assert!(origin("localhost:3000").matches(&origin("http://localhost:3000")));
        assert!(!origin("http://localhost:3000").matches(&origin("https://localhost:3000")));
    }

    #[test]
    fn host_and_port_must_be_equal() {
        assert!(!origin("http://localhost:3000").matches(&origin("localhost:3001")));
        assert!(
            !origin("https://app.example.com").matches(&origin("https://app.example.com.evil.io"))
        );
        assert!(!origin("https://app.example.com").matches(&origin("https://evilapp.example.com")));
        assert!(origin("https://App.Example.com").matches(&origin("https://app.example.com:443")));
    }

    #[test]
    fn missing_port_matches_only_default_port() {
        assert!(origin("https://app.example.com").matches(&origin("app.example.com")));
        assert!(!origin("http://app.example.com:8080").matches(&origin("app.example.com")));
    }

    #[test]
    fn lookup_keys_cover_scheme_less_mints() {
        let browser = origin("http://localhost:3000");
        let keys = browser.lookup_keys();
        assert!(keys.contains(&origin("localhost:3000").canonical()));
        assert!(keys.contains(&origin("http://localhost:3000").canonical()));
        assert!(!keys.contains(&origin("https://localhost:3000").canonical()));
        let default_port = origin("https://app.example.com").lookup_keys();
        assert!(default_port.contains(&origin("https://app.example.com:443").canonical()));
        assert!(default_port.contains(&origin("app.example.com").canonical()));
    }

    #[test]
    fn ipv6_literal_parses() {
        assert!(origin("http://[::1]:8080").matches(&origin("[::1]:8080")));
    }
}
