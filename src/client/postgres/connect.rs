//! Opening a session: password, TLS through rustls (ring), timeouts, session settings.
//!
//! Every session is read-only by default and carries `statement_timeout`, so even the
//! health statements that run outside the backlog's explicit transaction cannot write or
//! run long. The connection's driver runs in its own task, aborted when the session is
//! dropped.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use tokio::task::JoinHandle;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, NoTls, Socket};

use super::error::{classify, Ctx, Part};
use crate::client::tls::AcceptAnyCert;
use crate::config::{PostgresConfig, SslMode};
use crate::obs::postgres::PgError;

/// Sent as `application_name` when the DSN sets none, so DBAs see who is asking.
pub const APPLICATION_NAME: &str = "watchdeck";

/// An open session. Dropping it closes the connection.
pub struct PgSession {
    pub client: Client,
    driver: JoinHandle<()>,
}

impl Drop for PgSession {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl PgSession {
    /// Whether the connection has ended (the server went away or a read failed).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

/// Connects, authenticates and applies the session settings, all within `connect_timeout`.
pub async fn connect(cfg: &PostgresConfig) -> Result<PgSession, PgError> {
    connect_db(cfg, None).await
}

/// As [`connect`], to another database of the same server when `dbname` is given (the backup
/// drill's scratch database).
pub async fn connect_db(cfg: &PostgresConfig, dbname: Option<&str>) -> Result<PgSession, PgError> {
    let mut pg = cfg
        .pg_config()
        .map_err(|reason| PgError::Config { reason })?;
    if let Some(db) = dbname {
        pg.dbname(db);
    }
    // Without a user in the DSN tokio-postgres logs in as the OS user, as libpq does.
    let user = pg.get_user().map_or_else(os_user, str::to_owned);
    let cx = Ctx {
        part: Part::Connect,
        user: &user,
        cfg,
    };
    if let Some(secret) = cfg
        .password()
        .map_err(|reason| PgError::Password { reason })?
    {
        pg.password(secret.expose());
    }
    pg.connect_timeout(cfg.connect_timeout);
    if pg.get_application_name().is_none() {
        pg.application_name(APPLICATION_NAME);
    }
    pg.ssl_mode(match cfg.sslmode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        SslMode::Require | SslMode::VerifyFull => tokio_postgres::config::SslMode::Require,
    });

    let attempt = async {
        let session = if cfg.sslmode == SslMode::Disable {
            open(&pg, NoTls, &cx).await?
        } else {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(cfg)?);
            open(&pg, tls, &cx).await?
        };
        let settings = session_settings(cfg.statement_timeout);
        session
            .client
            .batch_execute(&settings)
            .await
            .map_err(|e| classify(&e, &cx))?;
        Ok(session)
    };
    // tokio-postgres bounds the TCP connect only; a server that accepts and then says nothing
    // must not hold this collector beyond its deadline either.
    tokio::time::timeout(cfg.connect_timeout + SLACK, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(PgError::ConnectTimeout {
                addr: cfg.display(),
                after: cfg.connect_timeout,
            })
        })
}

fn os_user() -> String {
    std::env::var("USER").unwrap_or_else(|_| "<watchdeck's role>".to_owned())
}

/// Extra patience on top of a server-side deadline before the client gives up on an answer.
pub const SLACK: Duration = Duration::from_millis(1500);

/// `SET` statements for a new session. Only numbers are formatted into it.
fn session_settings(statement_timeout: Duration) -> String {
    format!(
        "SET statement_timeout = {}; SET default_transaction_read_only = on",
        statement_timeout.as_millis().max(1)
    )
}

async fn open<T>(pg: &tokio_postgres::Config, tls: T, cx: &Ctx<'_>) -> Result<PgSession, PgError>
where
    T: MakeTlsConnect<Socket> + Send + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let (client, connection) = pg.connect(tls).await.map_err(|e| classify(&e, cx))?;
    let driver = tokio::spawn(async move {
        if let Err(e) = connection.await {
            // Never holds the password: tokio-postgres errors do not carry it.
            tracing::debug!("postgres connection ended: {e}");
        }
    });
    Ok(PgSession { client, driver })
}

/// The rustls client config for a mode other than `disable`.
fn tls_config(cfg: &PostgresConfig) -> Result<ClientConfig, PgError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(&e.to_string()))?;
    let config = if cfg.sslmode == SslMode::VerifyFull {
        builder
            .with_root_certificates(roots(cfg)?)
            .with_no_client_auth()
    } else {
        // `prefer` and `require` as libpq means them: encrypted, the handshake signature
        // checked, but the chain and name not verified. `verify-full` authenticates the server.
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert::encrypt_only(
                provider.signature_verification_algorithms,
            )))
            .with_no_client_auth()
    };
    Ok(config)
}

fn tls_error(reason: &str) -> PgError {
    PgError::Tls {
        reason: reason.to_owned(),
        hint: "check sslmode and ca_file in [target.postgres]".into(),
    }
}

/// `ca_file` if set, else the system's roots.
fn roots(cfg: &PostgresConfig) -> Result<RootCertStore, PgError> {
    let mut store = RootCertStore::empty();
    if let Some(path) = &cfg.ca_file {
        let shown = path.display();
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|e| tls_error(&format!("cannot read ca_file {shown}: {e}")))?;
        let (added, _) = store.add_parsable_certificates(certs);
        if added == 0 {
            return Err(tls_error(&format!(
                "ca_file {shown} holds no usable certificate"
            )));
        }
    } else {
        let found = rustls_native_certs::load_native_certs();
        store.add_parsable_certificates(found.certs);
        if store.is_empty() {
            return Err(tls_error(
                "no system CA certificates found for verify-full; set ca_file",
            ));
        }
    }
    Ok(store)
}
