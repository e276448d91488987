//! Reachability test that opens and closes a TCP connection.

use std::net::SocketAddr;

use tokio::net::TcpStream;

use super::{ErrorCode, Failure, Target};

/// Connects to the first address that accepts a TCP connection and closes
/// the connection at once. No data is sent.
pub(super) async fn check(target: &Target, addresses: &[SocketAddr]) -> Result<(), Failure> {
    let mut last_error = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                drop(stream);
                return Ok(());
            }
            Err(error) => last_error = Some(error),
        }
    }

    Err(match last_error {
        Some(error) => Failure::from_io_error(&error, target),
        None => Failure::destination(
            ErrorCode::ConnectionFailed,
            format!("No address to connect to for {target}."),
        ),
    })
}
