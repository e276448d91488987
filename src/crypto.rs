//! The master key: authenticated encryption of data at rest (signing keys,
//! destination secrets) and derivation of the fingerprint key.

use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::store::SealedKind;

/// Version byte of the sealed format: version, key id, nonce, ciphertext+tag.
const SEALED_VERSION: u8 = 1;
const KEY_ID_LEN: usize = 8;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the master key must be 32 bytes, base64-encoded")]
    InvalidMasterKey,
    #[error("sealed data is malformed")]
    Malformed,
    #[error("sealed data was encrypted with master key id {0}, not the configured one")]
    UnknownKeyId(String),
    #[error("decryption failed: wrong key or tampered data")]
    Decrypt,
    #[error("the system random number generator failed")]
    Random,
    #[error("master key file {path}: {source}")]
    KeyFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The 256-bit key that seals data at rest, plus earlier keys that may
/// still open data sealed before a rotation. Its `Debug` never shows a key.
pub struct MasterKey {
    key: LessSafeKey,
    key_id: [u8; KEY_ID_LEN],
    fingerprint_key: hmac::Key,
    previous: Vec<MasterKey>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("key_id", &self.key_id_hex())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != 32 {
            return Err(CryptoError::InvalidMasterKey);
        }
        let unbound =
            UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| CryptoError::InvalidMasterKey)?;
        let id_digest = digest(&SHA256, &[b"scopegate key id\0".as_slice(), bytes].concat());
        let mut key_id = [0u8; KEY_ID_LEN];
        key_id.copy_from_slice(&id_digest.as_ref()[..KEY_ID_LEN]);

        // A separate key for destination fingerprints, so that tokens never
        // carry a plain hash of a credential that could be guessed offline.
        let derivation = hmac::Key::new(hmac::HMAC_SHA256, bytes);
        let fingerprint_secret = hmac::sign(&derivation, b"scopegate destination fingerprint v1");
        let fingerprint_key = hmac::Key::new(hmac::HMAC_SHA256, fingerprint_secret.as_ref());

        Ok(Self {
            key: LessSafeKey::new(unbound),
            key_id,
            fingerprint_key,
            previous: Vec::new(),
        })
    }

    /// Adds earlier keys that [`MasterKey::open`] also tries, by key id.
    /// Sealing always uses this key.
    pub fn with_previous(mut self, previous: Vec<MasterKey>) -> Self {
        self.previous = previous;
        self
    }

    /// Tells whether `sealed` was sealed with this key rather than an
    /// earlier one.
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        sealed.len() > KEY_ID_LEN && sealed[1..1 + KEY_ID_LEN] == self.key_id
    }

    /// Parses the base64 form used by `SCOPEGATE_MASTER_KEY`.
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| CryptoError::InvalidMasterKey)?;
        Self::from_bytes(&bytes)
    }

    /// Generates a new random key and returns it with its base64 form.
    pub fn generate() -> Result<(Self, String), CryptoError> {
        let bytes = random_bytes::<32>()?;
        Ok((Self::from_bytes(&bytes)?, STANDARD.encode(bytes)))
    }

    /// Reads the key file at `path`, creating it with a new key (mode 0600)
    /// when it does not exist. Returns the key and whether it was created.
    pub fn load_or_create_file(path: &Path) -> Result<(Self, bool), CryptoError> {
        let io_error = |source| CryptoError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => return Ok((Self::from_base64(&text)?, false)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io_error(error)),
        }

        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_error)?;
        }
        let (key, encoded) = Self::generate()?;
        write_private_file(path, format!("{encoded}\n").as_bytes()).map_err(io_error)?;
        Ok((key, true))
    }

    pub fn key_id_hex(&self) -> String {
        self.key_id
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// Encrypts `plaintext`, binding it to `context` (for example the row it
    /// belongs to) so a sealed value cannot be moved to another row.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce_bytes = random_bytes::<NONCE_LEN>()?;
        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + AES_256_GCM.tag_len());
        out.push(SEALED_VERSION);
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&nonce_bytes);

        let mut buffer = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(context),
                &mut buffer,
            )
            .map_err(|_| CryptoError::Decrypt)?;
        out.extend_from_slice(&buffer);
        Ok(out)
    }

    /// Decrypts a value produced by [`MasterKey::seal`] with the same context.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < HEADER_LEN + AES_256_GCM.tag_len() || sealed[0] != SEALED_VERSION {
            return Err(CryptoError::Malformed);
        }
        let key_id = &sealed[1..1 + KEY_ID_LEN];
        if key_id != self.key_id {
            if let Some(previous) = self.previous.iter().find(|key| key.key_id == key_id) {
                return previous.open(context, sealed);
            }
            let hex = key_id.iter().map(|byte| format!("{byte:02x}")).collect();
            return Err(CryptoError::UnknownKeyId(hex));
        }
        let mut nonce_bytes = [0u8; NONCE_LEN];
        nonce_bytes.copy_from_slice(&sealed[1 + KEY_ID_LEN..HEADER_LEN]);

        let mut buffer = sealed[HEADER_LEN..].to_vec();
        let plaintext = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(context),
                &mut buffer,
            )
            .map_err(|_| CryptoError::Decrypt)?;
        Ok(plaintext.to_vec())
    }

    /// Keyed digest of a canonical destination document or field value.
    pub fn fingerprint(&self, data: &[u8]) -> hmac::Tag {
        hmac::sign(&self.fingerprint_key, data)
    }
}

/// Builds the context a sealed value is bound to: its kind and row id, so a value cannot
/// be moved to another row or table and still open.
pub fn seal_context(kind: SealedKind, id: &str) -> Vec<u8> {
    let prefix = match kind {
        SealedKind::SigningKey => "signing-key",
        SealedKind::DestinationSecrets => "destination-secrets",
        SealedKind::SshKey => "ssh-key",
    };
    format!("{prefix}:{id}").into_bytes()
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CryptoError::Random)?;
    Ok(bytes)
}

/// Writes a file readable only by its owner, failing if it already exists.
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip() {
        let (key, _) = MasterKey::generate().expect("key");
        let sealed = key.seal(b"row-1", b"secret").expect("seal");
        assert_eq!(key.open(b"row-1", &sealed).expect("open"), b"secret");
    }

    #[test]
    fn open_rejects_other_context() {
        let (key, _) = MasterKey::generate().expect("key");
        let sealed = key.seal(b"row-1", b"secret").expect("seal");
        assert!(matches!(
            key.open(b"row-2", &sealed),
            Err(CryptoError::Decrypt)
        ));
    }

    #[test]
    fn open_rejects_tampering() {
        let (key, _) = MasterKey::generate().expect("key");
        let mut sealed = key.seal(b"row-1", b"secret").expect("seal");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(matches!(
            key.open(b"row-1", &sealed),
            Err(CryptoError::Decrypt)
        ));
    }

    #[test]
    fn open_names_foreign_key_id() {
        let (first, _) = MasterKey::generate().expect("key");
        let (second, _) = MasterKey::generate().expect("key");
        let sealed = first.seal(b"row", b"secret").expect("seal");
        assert!(matches!(
            second.open(b"row", &sealed),
            Err(CryptoError::UnknownKeyId(_))
        ));
    }

    #[test]
    fn previous_key_opens_old_values() {
        let (old, _) = MasterKey::generate().expect("key");
        let sealed = old.seal(b"row", b"secret").expect("seal");
        let (new, encoded_new) = MasterKey::generate().expect("key");
        assert!(new.open(b"row", &sealed).is_err());
        let ring = MasterKey::from_base64(&encoded_new)
            .expect("key")
            .with_previous(vec![old]);
        assert_eq!(ring.open(b"row", &sealed).expect("open"), b"secret");
        assert!(!ring.is_current(&sealed));
        assert!(ring.is_current(&ring.seal(b"row", b"x").expect("seal")));
    }

    #[test]
    fn master_key_rejects_short_input() {
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
    }
}
