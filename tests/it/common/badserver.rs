//! Raw-TCP HTTP servers that misbehave on purpose, for testing collectors.
//!
//! Each server listens on `127.0.0.1` on a free port and serves every
//! connection with one [`Behaviour`]: a canned reply, redirects, a body that
//! trickles or never ends, a gzip bomb, a truncated body, garbage, silence, a
//! TLS handshake with a test certificate, a listen queue that never accepts…
//! They speak raw bytes over TCP (not hyper) so that they can break the
//! protocol in ways a real HTTP server library would refuse to.
//!
//! ```ignore
//! use crate::common::badserver::{self, Behaviour, Reply};
//!
//! let addr = badserver::spawn(Behaviour::Respond(Reply::new(503).body("db down"))).await;
//! let url = badserver::url(addr, "/metrics");
//! ```
//!
//! Servers run as tasks on the calling tokio runtime and end with it (that is,
//! with the test). Every endless behaviour is still bounded: it stops after
//! [`MAX_SERVE_TIME`] or a fixed amount of data, whichever comes first, and as
//! soon as the client hangs up.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Longest time any one connection is served, so that no test server can run away.
pub const MAX_SERVE_TIME: Duration = Duration::from_secs(30);
/// Most bytes (decompressed, for the gzip bomb) an endless body sends.
pub const MAX_ENDLESS_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// A canned HTTP response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Extra headers (values are bytes, so they may be invalid UTF-8).
    /// `Content-Length` is added from the body unless given here.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A redirect with the given status (301, 302, 307, 308) to `location`.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::new(status).header("Location", location)
    }

    #[must_use]
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Reply {
        self.headers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    #[must_use]
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = body.into();
        self
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status)).into_bytes();
        let mut has_length = false;
        for (name, value) in &self.headers {
            has_length |= name.eq_ignore_ascii_case("content-length");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        if !has_length {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"Connection: close\r\n\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// How a server treats every connection.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Reads the request and answers with this reply.
    Respond(Reply),
    /// Answers by request path (exact match, query included); other paths get 404.
    Routes(Vec<(String, Reply)>),
    /// Answers with `status` and the raw request head as a `text/plain` body,
    /// so a test can see exactly which headers were sent.
    EchoRequest { status: u16 },
    /// Reads the request and never answers (the connection stays open).
    Silent,
    /// Closes each connection as soon as it is accepted.
    CloseImmediately,
    /// Answers with bytes that are not HTTP at all.
    Garbage,
    /// A `status` head announcing `content_length` bytes, then one byte per `interval`.
    TrickleBody {
        status: u16,
        interval: Duration,
        content_length: usize,
    },
    /// A 200 with a chunked body that never ends.
    EndlessBody,
    /// A 200 with `Content-Encoding: gzip` whose body is gzip of endless zeros,
    /// compressed lazily while sending (about 1000:1), so a client that
    /// decompresses without a limit runs out of memory.
    GzipBomb,
    /// A 200 head announcing `announced` bytes, then only `sent` bytes, then close.
    ShortBody { announced: u64, sent: usize },
    /// A status line followed by header lines that never end.
    EndlessHeaders,
    /// Acts as a TLS 1.2 server presenting [`TEST_LEAF_PEM`] (issued by
    /// [`TEST_CA_PEM`] for 127.0.0.1 and localhost). It cannot finish the
    /// handshake (it has no real key exchange), so a client fails either at
    /// certificate verification (CA not trusted) or, with the CA trusted, at the
    /// handshake signature that follows.
    TlsTestCertificate,
    /// A listening socket whose accept queue is full and never drained: new
    /// connection attempts get no answer at all, so connecting times out.
    /// (Only meaningful on its own, not inside a `Sequence`.)
    FullBacklog,
    /// The n-th connection (from 0) is served with the n-th behaviour; the
    /// last one serves all later connections. For targets that break and
    /// recover (every reply closes its connection, so one request = one connection).
    Sequence(Vec<Behaviour>),
}

impl Behaviour {
    /// The behaviour for connection number `n`.
    fn for_connection(&self, n: usize) -> Behaviour {
        match self {
            Behaviour::Sequence(list) => match list.get(n).or(list.last()) {
                Some(b) => b.for_connection(n),
                None => Behaviour::CloseImmediately,
            },
            other => other.clone(),
        }
    }
}

/// Starts a server with `behaviour` on 127.0.0.1 and returns its address.
///
/// # Panics
/// If no loopback port can be bound (a broken test machine).
pub async fn spawn(behaviour: Behaviour) -> SocketAddr {
    if let Behaviour::FullBacklog = behaviour {
        return spawn_full_backlog().await;
    }
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        for n in 0.. {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let behaviour = behaviour.for_connection(n);
            tokio::spawn(async move {
                // Any I/O error means the client went away: nothing to report.
                let _ = tokio::time::timeout(MAX_SERVE_TIME, serve(stream, behaviour)).await;
            });
        }
    });
    addr
}

/// An address on 127.0.0.1 where nothing listens (connections are refused).
pub async fn refused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    drop(listener);
    addr
}

/// `http://ADDR/PATH` as a parsed URL.
pub fn url(addr: SocketAddr, path: &str) -> reqwest::Url {
    reqwest::Url::parse(&format!("http://{addr}{path}")).expect("valid test URL")
}

/// `https://ADDR/PATH` as a parsed URL.
pub fn https_url(addr: SocketAddr, path: &str) -> reqwest::Url {
    reqwest::Url::parse(&format!("https://{addr}{path}")).expect("valid test URL")
}

async fn serve(mut stream: TcpStream, behaviour: Behaviour) -> std::io::Result<()> {
    match behaviour {
        Behaviour::CloseImmediately => return Ok(()),
        Behaviour::TlsTestCertificate => return serve_tls(stream).await,
        _ => {}
    }
    let head = read_request_head(&mut stream).await?;
    match behaviour {
        Behaviour::Respond(reply) => stream.write_all(&reply.to_bytes()).await?,
        Behaviour::Routes(routes) => {
            let path = request_path(&head);
            let reply = routes
                .iter()
                .find(|(p, _)| *p == path)
                .map_or_else(|| Reply::new(404).body("no such route"), |(_, r)| r.clone());
            stream.write_all(&reply.to_bytes()).await?;
        }
        Behaviour::EchoRequest { status } => {
            let reply = Reply::new(status)
                .header("Content-Type", "text/plain")
                .body(head);
            stream.write_all(&reply.to_bytes()).await?;
        }
        Behaviour::Silent => {
            // Hold the connection open without a word until the client gives up.
            let mut sink = [0u8; 1024];
            while stream.read(&mut sink).await? > 0 {}
        }
        Behaviour::Garbage => {
            stream
                .write_all(b"\x00\x01\x02SSH-2.0-OpenSSH_9.6\r\n\xff\xfe not http at all\r\n\r\n")
                .await?;
        }
        Behaviour::TrickleBody {
            status,
            interval,
            content_length,
        } => {
            let head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: text/plain\r\nContent-Length: {content_length}\r\n\r\n",
                reason(status)
            );
            stream.write_all(head.as_bytes()).await?;
            for _ in 0..content_length {
                tokio::time::sleep(interval).await;
                stream.write_all(b"x").await?;
            }
        }
        Behaviour::EndlessBody => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await?;
            let line = b"endless_metric_total{label=\"value\"} 1\n".repeat(1024);
            let mut chunk = format!("{:x}\r\n", line.len()).into_bytes();
            chunk.extend_from_slice(&line);
            chunk.extend_from_slice(b"\r\n");
            let mut sent = 0u64;
            while sent < MAX_ENDLESS_BYTES {
                stream.write_all(&chunk).await?;
                sent += line.len() as u64;
            }
        }
        Behaviour::GzipBomb => serve_gzip_bomb(&mut stream).await?,
        Behaviour::ShortBody { announced, sent } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {announced}\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&vec![b'y'; sent]).await?;
            stream.flush().await?;
        }
        Behaviour::EndlessHeaders => {
            stream.write_all(b"HTTP/1.1 200 OK\r\n").await?;
            let line =
                b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(64);
            let mut sent = 0u64;
            while sent < MAX_ENDLESS_BYTES {
                stream.write_all(&line).await?;
                sent += line.len() as u64;
            }
        }
        Behaviour::CloseImmediately
        | Behaviour::TlsTestCertificate
        | Behaviour::FullBacklog
        | Behaviour::Sequence(_) => {}
    }
    stream.shutdown().await
}

/// Reads up to the end of the request head (or 64 KiB, or EOF). Like a real
/// server, it stops at once when the bytes cannot be HTTP (a TLS `ClientHello`
/// sent to a plain port) and answers anyway.
async fn read_request_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n")
        && head.len() < 64 * 1024
        && head.first().is_none_or(u8::is_ascii_uppercase)
    {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(head)
}

fn request_path(head: &[u8]) -> String {
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    line.split(' ').nth(1).unwrap_or("/").to_owned()
}

async fn serve_gzip_bomb(stream: &mut TcpStream) -> std::io::Result<()> {
    use flate2::write::GzEncoder;
    use flate2::Compression;

    stream
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n")
        .await?;
    let zeros = vec![0u8; 256 * 1024];
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    let mut fed = 0u64;
    while fed < MAX_ENDLESS_BYTES {
        encoder.write_all(&zeros)?;
        // A sync flush makes the compressed bytes for this block available now.
        encoder.flush()?;
        fed += zeros.len() as u64;
        let out = std::mem::take(encoder.get_mut());
        stream.write_all(&out).await?;
    }
    Ok(())
}

async fn spawn_full_backlog() -> SocketAddr {
    let socket = TcpSocket::new_v4().expect("create a socket");
    socket
        .bind("127.0.0.1:0".parse().expect("loopback address"))
        .expect("bind a loopback port");
    let addr = socket.local_addr().expect("local address");
    // Linux keeps backlog + 1 finished connections in the accept queue and
    // silently drops SYNs once it is full; nobody ever accepts here.
    let listener = socket.listen(1).expect("listen");
    let mut held = Vec::new();
    for _ in 0..16 {
        match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => held.push(stream),
            _ => break,
        }
    }
    tokio::spawn(async move {
        let _keep_open = (listener, held);
        tokio::time::sleep(MAX_SERVE_TIME).await;
    });
    addr
}

/// Test CA (EC P-256, valid 2024–2124), trusted only by tests that say so.
/// Made with `openssl ca -selfsign` (basicConstraints CA:TRUE).
pub const TEST_CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBbDCCARKgAwIBAgICEAAwCgYIKoZIzj0EAwIwHDEaMBgGA1UEAwwRd2F0Y2hk
ZWNrIHRlc3QgQ0EwIBcNMjQwMTAxMDAwMDAwWhgPMjEyNDAxMDEwMDAwMDBaMBwx
GjAYBgNVBAMMEXdhdGNoZGVjayB0ZXN0IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEyzmZlyrGByNDTy+NCSxnlC6Diof1qjLvmCsM6Pv7hagjwo0HKkoIBCki
cWAMCVh6RJANuQ8ocSEBQyRF4iWEPqNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNV
HQ8BAf8EBAMCAQYwHQYDVR0OBBYEFAIyLXpvI8txOqJSwgDeKOH9jgnaMAoGCCqG
SM49BAMCA0gAMEUCIGiNLxNXYKoHXgYdHLQUwEpcHNEunvhjHanu979pJmHBAiEA
9utYwWTnnsi0agqtz7i2INbJIUeUkCT1Vc+dnnDd+L4=
-----END CERTIFICATE-----
";

/// Server certificate issued by [`TEST_CA_PEM`] for IP 127.0.0.1 and DNS
/// localhost (EC P-256, serverAuth, valid 2024–2124). Its private key was
/// thrown away: the TLS behaviour only needs to present it.
pub const TEST_LEAF_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBtjCCAVugAwIBAgICEAEwCgYIKoZIzj0EAwIwHDEaMBgGA1UEAwwRd2F0Y2hk
ZWNrIHRlc3QgQ0EwIBcNMjQwMTAxMDAwMDAwWhgPMjEyNDAxMDEwMDAwMDBaMBQx
EjAQBgNVBAMMCWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFTN
kjJRxcIvO7CgA9bSvOgPiXLySeYaAXO6H5/D9KUw7naFz+M2RWuBlGW+wFJ/5Leq
dhHe9fqFF4UDYIy/An6jgZIwgY8wDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMC
B4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwGgYDVR0RBBMwEYcEfwAAAYIJbG9jYWxo
b3N0MB0GA1UdDgQWBBTvXWZ19BPvD/7edtFEzWKKvQTIbjAfBgNVHSMEGDAWgBQC
Mi16byPLcTqiUsIA3ijh/Y4J2jAKBggqhkjOPQQDAgNJADBGAiEA5iK73Ahaitzo
3Al6oAumyi6oL25CbXV/C+LkiU52tGgCIQDuWJzbGq95iSONePvVBiNOPiDLwrsb
IzEra4A3OptQZQ==
-----END CERTIFICATE-----
";

/// Plays the server side of a TLS 1.2 handshake up to `ServerHelloDone`:
/// `ServerHello` (ECDHE-ECDSA-AES128-GCM-SHA256), the test certificate, a
/// `ServerKeyExchange` with a throwaway key and a signature that cannot verify,
/// and `ServerHelloDone`. A client verifies the certificate chain first, then
/// the signature, so the error it reports shows whether it trusted the chain.
async fn serve_tls(mut stream: TcpStream) -> std::io::Result<()> {
    // Wait for the ClientHello record (its header says how long it is).
    let mut header = [0u8; 5];
    stream.read_exact(&mut header).await?;
    let mut hello = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
    stream.read_exact(&mut hello).await?;

    let mut handshake = Vec::new();
    let mut server_hello = vec![0x03, 0x03]; // TLS 1.2
    server_hello.extend_from_slice(&[0x5a; 32]); // random (not a downgrade marker)
    server_hello.push(0); // empty session id
    server_hello.extend_from_slice(&[0xc0, 0x2b]); // ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    server_hello.push(0); // no compression
    push_handshake(&mut handshake, 2, &server_hello);

    let leaf = pem_to_der(TEST_LEAF_PEM);
    let mut chain = Vec::new();
    push_u24(&mut chain, leaf.len());
    chain.extend_from_slice(&leaf);
    let mut certificate = Vec::new();
    push_u24(&mut certificate, chain.len());
    certificate.extend_from_slice(&chain);
    push_handshake(&mut handshake, 11, &certificate);

    let mut key_exchange = vec![3, 0x00, 0x1d, 32]; // named curve x25519, 32-byte point
    key_exchange.extend_from_slice(&[9; 32]);
    key_exchange.extend_from_slice(&[0x04, 0x03]); // ecdsa_secp256r1_sha256
    let signature = [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]; // r = s = 1
    key_exchange.extend_from_slice(&(signature.len() as u16).to_be_bytes());
    key_exchange.extend_from_slice(&signature);
    push_handshake(&mut handshake, 12, &key_exchange);
    push_handshake(&mut handshake, 14, &[]); // ServerHelloDone

    let mut record = vec![22, 0x03, 0x03];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    stream.write_all(&record).await?;
    // Let the client read it and send its alert before the connection closes.
    let mut sink = [0u8; 1024];
    while stream.read(&mut sink).await? > 0 {}
    Ok(())
}

fn push_handshake(out: &mut Vec<u8>, kind: u8, body: &[u8]) {
    out.push(kind);
    push_u24(out, body.len());
    out.extend_from_slice(body);
}

fn push_u24(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_be_bytes()[1..]);
}

/// Decodes the base64 body of a one-certificate PEM.
fn pem_to_der(pem: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::new();
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        for c in line.bytes() {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => continue, // '=' padding and whitespace
            };
            bits = (bits << 6) | u32::from(v);
            nbits += 6;
            if nbits >= 8 {
                nbits -= 8;
                out.push((bits >> nbits) as u8);
            }
        }
    }
    out
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}
