//! The response of a connection test. A well-formed request succeeds at the
//! top level; the verdict is in `data.status`, with an `error` object when
//! the test failed.

use axum::response::Response;
use serde_json::json;

use crate::envelope::success;
use crate::probe::Verdict;

pub fn verdict_response(verdict: Verdict) -> Response {
    match verdict {
        Verdict::Ok => success(json!({ "status": "success" }), "connection test succeeded"),
        Verdict::Failed {
            error_code,
            title,
            blame,
            message,
        } => {
            tracing::info!(error_code = %error_code, "connection test failed");
            success(
                json!({
                    "status": "error",
                    "error": {
                        "error_code": error_code,
                        "title": title,
                        "blame": blame,
                        "message": message,
                    },
                }),
                "connection test failed",
            )
        }
    }
}
