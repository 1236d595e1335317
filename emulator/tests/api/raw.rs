//! Raw HTTPS over rustls: for clients no HTTP library will impersonate (stalled bodies, CONNECT,
//! lying lengths, garbage).

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use serde_json::Value;

pub type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A client configuration trusting only `ca`.
pub fn trusting(ca: &Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A finished TLS handshake with `127.0.0.1:port`; reads give up after `read_timeout`.
pub fn connect(port: u16, config: &Arc<ClientConfig>, read_timeout: Duration) -> Tls {
    let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(read_timeout)).unwrap();
    let conn = ClientConnection::new(config.clone(), ServerName::try_from("localhost").unwrap()).unwrap();
    let mut tls = StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).unwrap();
    }
    tls
}

/// Sends bytes as they are.
pub fn send(tls: &mut Tls, bytes: &[u8]) {
    tls.write_all(bytes).unwrap();
    tls.flush().unwrap();
}

/// True when nothing has arrived yet (the server is still holding the request).
pub fn silent(tls: &mut Tls) -> bool {
    tls.sock.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let silent = matches!(tls.read(&mut byte), Err(e) if e.kind() == ErrorKind::WouldBlock);
    tls.sock.set_nonblocking(false).unwrap();
    silent
}

/// A response read until the server closed the connection.
pub struct RawReply {
    pub status: u16,
    pub head: String,
    pub body: Value,
}

/// Reads until the server closes the connection (a response that keeps it open is a failure: the
/// read times out).
pub fn read_until_closed(tls: &mut Tls) -> RawReply {
    let mut all = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match tls.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => all.extend_from_slice(&chunk[..n]),
            // A close without close_notify is still a close.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof || e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "no complete answer before the read timeout: {e}; got {:?}",
                String::from_utf8_lossy(&all)
            ),
        }
    }
    let text = String::from_utf8_lossy(&all).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    RawReply {
        status,
        head: head.to_ascii_lowercase(),
        body: serde_json::from_str(body).unwrap_or(Value::String(body.to_string())),
    }
}

/// Sends a ClientHello whose SNI is the IP address `127.0.0.1` (as some clients do; rustls clients
/// never would) and reads what the server answers.
pub fn hello_with_ip_sni(port: u16, config: &Arc<ClientConfig>) {
    let mut conn = ClientConnection::new(config.clone(), ServerName::try_from("localhost").unwrap()).unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    // Same length, so every length field of the record stays right.
    let at = hello.windows(9).position(|w| w == b"localhost").unwrap();
    hello[at..at + 9].copy_from_slice(b"127.0.0.1");
    let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    sock.write_all(&hello).unwrap();
    let mut answer = [0u8; 5];
    sock.read_exact(&mut answer).unwrap();
    assert_eq!(answer[0], 0x16, "a handshake record (ServerHello) comes back");
}
