//! Audit events, written by a background task so recording one never
//! delays the request that caused it.

use chrono::Utc;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::store::{AuditEvent, DynStore, Tenant};

/// Events waiting to be written at most; beyond it new events are dropped
/// and a warning is logged.
const QUEUE_CAPACITY: usize = 10_000;

enum Command {
    Record(Box<AuditEvent>),
    Flush(oneshot::Sender<()>),
}

/// Handle to the audit writer. Cloning is cheap.
#[derive(Clone)]
pub struct AuditLog {
    sender: mpsc::Sender<Command>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Starts the writer task on the current tokio runtime.
    pub fn start(store: DynStore) -> Self {
        let (sender, mut receiver) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(async move {
            while let Some(command) = receiver.recv().await {
                match command {
                    Command::Record(event) => {
                        if let Err(error) = store.insert_audit_event(&event).await {
                            tracing::warn!(
                                error = %error,
                                action = %event.action,
                                event_id = %event.id,
                                "could not write an audit event"
                            );
                        }
                    }
                    Command::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        Self { sender }
    }

    /// Queues an event. `details` must never contain a key, token or secret.
    pub fn record(
        &self,
        tenant: Tenant,
        action: &str,
        api_key_id: Option<Uuid>,
        recipient_id: Option<Uuid>,
        details: Value,
    ) {
        let event = AuditEvent {
            id: Uuid::new_v4(),
            tenant,
            action: action.to_owned(),
            api_key_id,
            recipient_id,
            details,
            created_at: Utc::now(),
        };
        if let Err(error) = self.sender.try_send(Command::Record(Box::new(event))) {
            tracing::warn!(action, error = %error, "audit queue is full or closed; event dropped");
        }
    }

    /// Waits until every event queued before this call is written.
    pub async fn flush(&self) {
        let (done, finished) = oneshot::channel();
        if self.sender.send(Command::Flush(done)).await.is_ok() {
            let _ = finished.await;
        }
    }
}
