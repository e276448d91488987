//! Re-sealing every value at rest with the current master key, after an
//! operator rotated it.

use crate::crypto::{MasterKey, seal_context};
use crate::store::DynStore;

/// Counts of a re-sealing run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RekeyReport {
    /// Values now sealed with the current key.
    pub resealed: usize,
    /// Values that already were.
    pub current: usize,
    /// Values that changed between reading and writing; run again for them.
    pub changed_meanwhile: usize,
}

/// Opens every sealed value with the current or a previous master key and
/// seals it again with the current one. A value that changed meanwhile is
/// left as it is and counted.
pub async fn reseal_all(store: &DynStore, master_key: &MasterKey) -> anyhow::Result<RekeyReport> {
    let mut report = RekeyReport::default();
    for mut value in store.list_sealed_values().await? {
        if master_key.is_current(&value.sealed) {
            report.current += 1;
            continue;
        }
        let context = seal_context(value.kind, &value.id);
        let plaintext = master_key.open(&context, &value.sealed).map_err(|error| {
            anyhow::anyhow!("cannot open {:?} {}: {error}", value.kind, value.id)
        })?;
        let previous = std::mem::replace(&mut value.sealed, master_key.seal(&context, &plaintext)?);
        if store.replace_sealed_value(&value, &previous).await? {
            report.resealed += 1;
        } else {
            report.changed_meanwhile += 1;
        }
    }
    Ok(report)
}
