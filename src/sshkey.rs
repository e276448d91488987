//! RSA key pairs for SSH tunnels, generated with aws-lc-rs.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Key algorithm name in the SSH wire format and in OpenSSH public key lines.
const SSH_RSA: &str = "ssh-rsa";

/// Characters per base64 line in PEM output (RFC 7468).
const PEM_LINE_LEN: usize = 64;

/// A new RSA 2048 key pair.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedSshKey {
    /// OpenSSH `authorized_keys` form: `ssh-rsa AAAA…`, without a comment.
    pub public_key_openssh: String,
    /// PEM `PUBLIC KEY` block holding the X.509 SubjectPublicKeyInfo, ending
    /// with a newline.
    pub public_key_pkcs8: String,
    /// PKCS #8 v1 DER private key, read through `private_key_pkcs8_der()`.
    /// `Debug` output shows only its length.
    private_key_pkcs8_der: Vec<u8>,
}

impl GeneratedSshKey {
    /// Returns the private key as PKCS #8 v1 DER.
    pub fn private_key_pkcs8_der(&self) -> &[u8] {
        &self.private_key_pkcs8_der
    }
}

impl fmt::Debug for GeneratedSshKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = format!("[redacted; {} bytes]", self.private_key_pkcs8_der.len());
        f.debug_struct("GeneratedSshKey")
            .field("public_key_openssh", &self.public_key_openssh)
            .field("public_key_pkcs8", &self.public_key_pkcs8)
            .field("private_key_pkcs8_der", &format_args!("{redacted}"))
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SshKeyError {
    #[error("generating an RSA key pair failed")]
    Generate(#[source] aws_lc_rs::error::Unspecified),
    #[error("encoding the RSA {0} key as DER failed")]
    Encode(&'static str),
}

/// Generates an RSA 2048 key pair and encodes its public key in OpenSSH and
/// PEM form and its private key as PKCS #8 DER. RSA key generation is
/// CPU-bound, so async callers should run it on a blocking thread.
pub fn generate() -> Result<GeneratedSshKey, SshKeyError> {
    let key_pair = KeyPair::generate(KeySize::Rsa2048).map_err(SshKeyError::Generate)?;
    let public_key = key_pair.public_key();

    let exponent = public_key.exponent().big_endian_without_leading_zero();
    let modulus = public_key.modulus().big_endian_without_leading_zero();
    let public_key_openssh = openssh_public_key(exponent, modulus);

    let spki = public_key
        .as_der()
        .map_err(|_| SshKeyError::Encode("public"))?;
    let public_key_pkcs8 = pem_encode("PUBLIC KEY", spki.as_ref());

    let private_key = key_pair
        .as_der()
        .map_err(|_| SshKeyError::Encode("private"))?;

    Ok(GeneratedSshKey {
        public_key_openssh,
        public_key_pkcs8,
        private_key_pkcs8_der: private_key.as_ref().to_vec(),
    })
}

/// Formats an RSA public key as `ssh-rsa <base64>`, where the base64 text
/// encodes the RFC 4253 section 6.6 blob: string "ssh-rsa", mpint e, mpint n.
/// Both integers are big-endian without leading zero bytes.
fn openssh_public_key(exponent: &[u8], modulus: &[u8]) -> String {
    let mut blob = Vec::with_capacity(modulus.len() + exponent.len() + 32);
    put_string(&mut blob, SSH_RSA.as_bytes());
    put_mpint(&mut blob, exponent);
    put_mpint(&mut blob, modulus);
    format!("{SSH_RSA} {}", STANDARD.encode(blob))
}

/// Appends an SSH `string`: a big-endian u32 length, then the bytes.
fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    // RSA components and the algorithm name are far below 4 GiB.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Appends a non-negative SSH `mpint`. The value is two's complement, so a
/// zero byte goes first when the high bit is set. Zero is the empty string.
fn put_mpint(out: &mut Vec<u8>, big_endian: &[u8]) {
    let first_nonzero = big_endian
        .iter()
        .position(|byte| *byte != 0)
        .unwrap_or(big_endian.len());
    let magnitude = &big_endian[first_nonzero..];

    match magnitude.first() {
        Some(first) if first & 0x80 != 0 => {
            let mut padded = Vec::with_capacity(magnitude.len() + 1);
            padded.push(0);
            padded.extend_from_slice(magnitude);
            put_string(out, &padded);
        }
        _ => put_string(out, magnitude),
    }
}

/// Wraps DER bytes in a PEM block with 64-character base64 lines.
fn pem_encode(label: &str, der: &[u8]) -> String {
    let encoded = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    // Base64 output is ASCII, so splitting the bytes keeps valid UTF-8.
    for line in encoded.as_bytes().chunks(PEM_LINE_LEN) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::Command;

    use aws_lc_rs::rsa::PublicKey;

    use super::*;

    /// Reads an SSH `string` and returns it with the rest of the input.
    fn read_string(input: &[u8]) -> (&[u8], &[u8]) {
        let (len_bytes, rest) = input.split_at(4);
        let len = u32::from_be_bytes(len_bytes.try_into().unwrap()) as usize;
        rest.split_at(len)
    }

    /// Parses an OpenSSH `ssh-rsa` line into its raw (e, n) mpint bytes.
    fn parse_openssh(line: &str) -> (Vec<u8>, Vec<u8>) {
        let (algorithm, encoded) = line.split_once(' ').unwrap();
        assert_eq!(algorithm, "ssh-rsa");
        let blob = STANDARD.decode(encoded).unwrap();

        let (name, rest) = read_string(&blob);
        assert_eq!(name, b"ssh-rsa");
        let (exponent, rest) = read_string(rest);
        let (modulus, rest) = read_string(rest);
        assert!(rest.is_empty(), "{} trailing bytes", rest.len());
        (exponent.to_vec(), modulus.to_vec())
    }

    fn pem_body(pem: &str) -> Vec<u8> {
        let body: String = pem
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        STANDARD.decode(body).unwrap()
    }

    #[test]
    fn openssh_matches_spki() {
        let key = generate().unwrap();
        let (exponent, modulus) = parse_openssh(&key.public_key_openssh);

        assert_eq!(exponent, [0x01, 0x00, 0x01], "e must be 65537");
        assert_eq!(modulus.len(), 257, "2048-bit modulus with a leading zero");
        assert_eq!(modulus[0], 0, "mpint sign byte");
        assert!(
            modulus[1] & 0x80 != 0,
            "a 2048-bit modulus sets the top bit"
        );

        let spki = pem_body(&key.public_key_pkcs8);
        let parsed = PublicKey::from_der(&spki).unwrap();
        assert_eq!(
            parsed.modulus().big_endian_without_leading_zero(),
            &modulus[1..]
        );
        assert_eq!(
            parsed.exponent().big_endian_without_leading_zero(),
            &exponent[..]
        );
    }

    #[test]
    fn private_key_parses_back() {
        let key = generate().unwrap();
        let parsed = KeyPair::from_pkcs8(&key.private_key_pkcs8_der).unwrap();
        let (_, modulus) = parse_openssh(&key.public_key_openssh);
        assert_eq!(
            parsed
                .public_key()
                .modulus()
                .big_endian_without_leading_zero(),
            &modulus[1..]
        );
    }

    #[test]
    fn pem_wraps_at_64() {
        let key = generate().unwrap();
        let pem = &key.public_key_pkcs8;
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
        assert!(pem.ends_with("\n-----END PUBLIC KEY-----\n"), "{pem}");

        let body: Vec<&str> = pem
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        let (last, full) = body.split_last().unwrap();
        for line in full {
            assert_eq!(line.len(), 64, "{line}");
        }
        assert!(!last.is_empty(), "empty last line");
        assert!(last.len() <= 64, "{last}");
        // A 2048-bit SubjectPublicKeyInfo is 294 bytes, 392 base64 characters.
        assert_eq!(body.concat().len(), 392);
    }

    #[test]
    fn pem_encode_line_breaks() {
        let exactly_one_line = pem_encode("TEST", &[0u8; 48]);
        assert_eq!(
            exactly_one_line,
            format!(
                "-----BEGIN TEST-----\n{}\n-----END TEST-----\n",
                "A".repeat(64)
            )
        );

        let two_lines = pem_encode("TEST", &[0u8; 49]);
        let lines: Vec<&str> = two_lines.lines().collect();
        assert_eq!(lines.len(), 4, "{two_lines}");
        assert_eq!(lines[2], "AA==");
    }

    #[test]
    fn mpint_encoding() {
        let cases: [(&[u8], &[u8]); 5] = [
            (&[], &[0, 0, 0, 0]),
            (&[0, 0], &[0, 0, 0, 0]),
            (&[0x01, 0x00, 0x01], &[0, 0, 0, 3, 0x01, 0x00, 0x01]),
            (&[0x80], &[0, 0, 0, 2, 0x00, 0x80]),
            (&[0x00, 0x7f, 0xff], &[0, 0, 0, 2, 0x7f, 0xff]),
        ];
        for (value, expected) in cases {
            let mut out = Vec::new();
            put_mpint(&mut out, value);
            assert_eq!(out, expected, "mpint {value:02x?}");
        }
    }

    #[test]
    fn keys_differ() {
        let first = generate().unwrap();
        let second = generate().unwrap();
        assert_ne!(first.public_key_openssh, second.public_key_openssh);
        assert_ne!(first.private_key_pkcs8_der, second.private_key_pkcs8_der);
    }

    #[test]
    fn debug_redacts_private_key() {
        let key = generate().unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains("[redacted;"), "{debug}");
        let private_base64 = STANDARD.encode(&key.private_key_pkcs8_der);
        assert!(!debug.contains(&private_base64[..40]), "{debug}");
        assert!(!debug.contains("48, 130"), "{debug}");
    }

    fn ssh_keygen_available() -> bool {
        Command::new("ssh-keygen").arg("-?").output().is_ok()
    }

    fn ssh_keygen(args: &[&str]) -> String {
        let output = Command::new("ssh-keygen").args(args).output().unwrap();
        assert!(
            output.status.success(),
            "ssh-keygen {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn temp_file(contents: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(contents).unwrap();
        file.flush().unwrap();
        file
    }

    #[test]
    fn ssh_keygen_accepts_keys() {
        if !ssh_keygen_available() {
            eprintln!("skipped: ssh-keygen is not installed");
            return;
        }
        let key = generate().unwrap();

        let public_file = temp_file(format!("{}\n", key.public_key_openssh).as_bytes());
        let public_path = public_file.path().to_str().unwrap();
        let fingerprint = ssh_keygen(&["-l", "-f", public_path]);
        assert!(fingerprint.starts_with("2048 SHA256:"), "{fingerprint}");
        assert!(fingerprint.trim_end().ends_with("(RSA)"), "{fingerprint}");

        // ssh-keygen converts the PEM SubjectPublicKeyInfo to the same line.
        let pem_file = temp_file(key.public_key_pkcs8.as_bytes());
        let pem_path = pem_file.path().to_str().unwrap();
        let converted = ssh_keygen(&["-i", "-m", "PKCS8", "-f", pem_path]);
        assert_eq!(converted.trim_end(), key.public_key_openssh);

        // ssh-keygen derives the same public key from the private key, which
        // it reads as a PEM "PRIVATE KEY" file. NamedTempFile creates it with
        // mode 0600, as ssh-keygen requires.
        let private_pem = pem_encode("PRIVATE KEY", &key.private_key_pkcs8_der);
        let private_file = temp_file(private_pem.as_bytes());
        let private_path = private_file.path().to_str().unwrap();
        let derived = ssh_keygen(&["-y", "-f", private_path]);
        assert_eq!(
            derived
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" "),
            key.public_key_openssh
        );
    }
}
