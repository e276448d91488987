//! The client behind `scopegate healthcheck`: one plain HTTP/1.1 GET to
//! the server on this machine, so a container image needs no curl.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Maximum bytes read while looking for the status line. A response
/// without one in that many bytes is not HTTP from scopegate.
const MAX_STATUS_LINE: usize = 1024;

/// Returns the address to probe for a server bound to `listen`: a wildcard
/// address becomes the loopback address of its family.
pub fn probe_address(listen: SocketAddr) -> anyhow::Result<SocketAddr> {
    if listen.port() == 0 {
        bail!("SCOPEGATE_LISTEN has port 0, so the server's port is unknown; set a fixed port");
    }
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Ok(SocketAddr::new(ip, listen.port()))
}

/// Sends `GET path` to `address` and returns the response status code.
/// Connecting, writing and reading the status line together take at most
/// `timeout`.
pub async fn get_status(address: SocketAddr, path: &str, timeout: Duration) -> anyhow::Result<u16> {
    tokio::time::timeout(timeout, exchange(address, path))
        .await
        .with_context(|| format!("GET http://{address}{path} timed out after {timeout:?}"))?
}

async fn exchange(address: SocketAddr, path: &str) -> anyhow::Result<u16> {
    let mut stream = TcpStream::connect(address)
        .await
        .with_context(|| format!("connecting to {address} failed"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nUser-Agent: scopegate-healthcheck\r\n\
         Accept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .with_context(|| format!("sending the request to {address} failed"))?;

    let mut head = Vec::with_capacity(128);
    let mut buffer = [0u8; 256];
    while !head.windows(2).any(|pair| pair == b"\r\n") {
        if head.len() > MAX_STATUS_LINE {
            bail!("the response from {address} has no HTTP status line");
        }
        let read = stream
            .read(&mut buffer)
            .await
            .with_context(|| format!("reading the response from {address} failed"))?;
        if read == 0 {
            bail!("{address} closed the connection before sending a response");
        }
        head.extend_from_slice(&buffer[..read]);
    }
    parse_status_line(&head).with_context(|| format!("the response from {address} is not HTTP"))
}

/// Reads the status code from the start of an HTTP/1.x response.
fn parse_status_line(head: &[u8]) -> anyhow::Result<u16> {
    let line_end = head
        .windows(2)
        .position(|pair| pair == b"\r\n")
        .context("no line end")?;
    let line = std::str::from_utf8(&head[..line_end]).context("the status line is not text")?;
    let mut parts = line.split(' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        bail!("unexpected protocol {version:?}");
    }
    let code = parts.next().unwrap_or_default();
    code.parse::<u16>()
        .ok()
        .filter(|code| (100..=599).contains(code))
        .with_context(|| format!("invalid status code {code:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_address_becomes_loopback() {
        let v4: SocketAddr = "0.0.0.0:8080".parse().expect("address");
        assert_eq!(probe_address(v4).expect("v4").to_string(), "127.0.0.1:8080");
        let v6: SocketAddr = "[::]:8080".parse().expect("address");
        assert_eq!(probe_address(v6).expect("v6").to_string(), "[::1]:8080");
        let fixed: SocketAddr = "127.0.0.2:9000".parse().expect("address");
        assert_eq!(probe_address(fixed).expect("fixed"), fixed);
    }

    #[test]
    fn port_zero_is_rejected() {
        let any: SocketAddr = "127.0.0.1:0".parse().expect("address");
        assert!(probe_address(any).is_err());
    }

    #[test]
    fn status_line_parses() {
        assert_eq!(
            parse_status_line(b"HTTP/1.1 503 Service Unavailable\r\n").expect("503"),
            503
        );
        assert_eq!(
            parse_status_line(b"HTTP/1.0 200 OK\r\nx").expect("200"),
            200
        );
        assert!(parse_status_line(b"SSH-2.0-OpenSSH\r\n").is_err());
        assert!(parse_status_line(b"HTTP/1.1 abc\r\n").is_err());
    }
}
