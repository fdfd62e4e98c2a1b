//! Probes: the I/O that gathers the facts the automatic items are judged on (a server's
//! certificate, its `Date` header, a filesystem's free space, a backup directory). Each
//! returns plain facts or a one-line error; deciding pass or fail is [`super::eval`]'s job.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::RootCertStore;

use crate::actions::backup::generations;
use crate::client::tls::AcceptAnyCert;
use crate::obs::now_ms;
use crate::obs::DiskUsage;

/// What a TLS handshake showed about the server's certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsCert {
    /// The leaf certificate's notAfter, unix seconds.
    pub not_after_s: i64,
    /// Why the chain did not verify against the system roots (plus the target's CA), if it
    /// did not. An expired certificate shows here too.
    pub verify_error: Option<String>,
}

/// A server's clock as its `Date` header tells it, with this machine's clock around the
/// request.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockReading {
    /// The `Date` header, unix seconds (it has one-second resolution).
    pub server_s: i64,
    pub date_header: String,
    /// This machine's clock just before the request was sent and when the headers arrived.
    pub local_before_ms: i64,
    pub local_after_ms: i64,
}

/// A backup directory as the generations listing sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupFacts {
    /// When the newest verified generation finished, unix ms.
    pub newest_verified_ms: Option<i64>,
    /// Every attempt found (verified or not).
    pub attempts: usize,
    /// The error of the newest attempt, when it failed.
    pub newest_error: Option<String>,
}

/// Facts gathered for one item.
#[derive(Debug, Clone, PartialEq)]
pub enum Gathered {
    /// The item needs no probe (it is judged on panels), or was not probed.
    Nothing,
    Tls(Result<TlsCert, String>),
    Clock(Result<ClockReading, String>),
    Disk(Result<DiskUsage, String>),
    Backup(Result<BackupFacts, String>),
}

fn roots(ca_pem: Option<&[u8]>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    // Unreadable system certificates are not fatal: a target's own CA may be all we need.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(pem) = ca_pem {
        let mut n = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("the CA file is not readable PEM: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("the CA file holds an unusable certificate: {e}"))?;
            n += 1;
        }
        if n == 0 {
            return Err("the CA file has no \"BEGIN CERTIFICATE\" block".into());
        }
    }
    Ok(roots)
}

/// Connects to an https URL, completes a TLS handshake and reads the leaf certificate.
/// Blocking (run it on a blocking thread); `timeout` bounds the connect and each read.
pub fn tls_cert(
    url: &reqwest::Url,
    ca_pem: Option<&[u8]>,
    timeout: Duration,
) -> Result<TlsCert, String> {
    use std::net::ToSocketAddrs;
    let host = url
        .host_str()
        .ok_or_else(|| format!("{url} has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = roots(ca_pem)?;
    let inner = if roots.is_empty() {
        None
    } else {
        Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| format!("cannot set up certificate verification: {e}"))?,
        )
    };
    // Any certificate is let through, but what the real verifier said is kept: the check
    // wants the days left of an expired or untrusted certificate too, and nothing is sent
    // over the connection beyond the handshake.
    let verifier = Arc::new(AcceptAnyCert::recording(
        provider.signature_verification_algorithms,
        inner,
    ));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(host.clone())
        .map_err(|e| format!("{host:?} is not a valid TLS server name: {e}"))?;
    let addr = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} resolves to no address"))?;
    let mut sock = std::net::TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    sock.set_read_timeout(Some(timeout))
        .and_then(|()| sock.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("cannot set socket timeouts: {e}"))?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|e| format!("cannot start TLS: {e}"))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)
            .map_err(|e| format!("TLS handshake with {host}:{port} failed: {e}"))?;
    }
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or_else(|| format!("{host}:{port} sent no certificate"))?;
    let not_after_s = super::cert::not_after(leaf.as_ref())?;
    conn.send_close_notify();
    let _ = conn.complete_io(&mut sock);
    let verify_error = verifier.verdict();
    Ok(TlsCert {
        not_after_s,
        verify_error,
    })
}

/// Sends one GET to `url` and reads its `Date` header. Any status will do: even an error
/// page carries the server's clock.
pub async fn clock(
    url: &reqwest::Url,
    ca_pem: Option<&[u8]>,
    timeout: Duration,
) -> Result<ClockReading, String> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .no_proxy();
    if let Some(pem) = ca_pem {
        for c in reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| format!("the CA file is not readable PEM: {e}"))?
        {
            builder = builder.add_root_certificate(c);
        }
    }
    let client = builder
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
    let local_before_ms = now_ms();
    let resp = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {}", deepest(&e)))?;
    let local_after_ms = now_ms();
    let date = resp
        .headers()
        .get(reqwest::header::DATE)
        .ok_or_else(|| format!("{url} answered without a Date header"))?
        .to_str()
        .map_err(|_| format!("{url} sent a Date header that is not text"))?
        .to_owned();
    let t = httpdate::parse_http_date(&date)
        .map_err(|_| format!("{url} sent a Date header that is not an HTTP date: {date:?}"))?;
    let server_s = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Ok(ClockReading {
        server_s,
        date_header: date,
        local_before_ms,
        local_after_ms,
    })
}

fn deepest(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The backup generations of `target` in `dir`.
pub fn backups(dir: &Path, target: &str) -> Result<BackupFacts, String> {
    let list = generations::list(dir, target).map_err(|e| e.to_string())?;
    let newest_verified_ms = list
        .iter()
        .filter(|g| g.is_verified())
        .map(generations::Generation::finished)
        .max()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64);
    Ok(BackupFacts {
        newest_verified_ms,
        attempts: list.len(),
        newest_error: list.first().and_then(generations::Generation::error),
    })
}

/// Free space of the filesystem holding `path`.
pub fn disk(path: &Path) -> Result<DiskUsage, String> {
    crate::source::disk::statvfs_usage(path)
}
