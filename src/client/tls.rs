//! A rustls certificate verifier for the connections that must not refuse a certificate:
//! libpq's `prefer` and `require` (encrypted, not authenticated), and the checklist's
//! certificate probe, which wants the days left of an expired or untrusted certificate too.
//! The handshake signature is always checked; only the chain and the name are not enforced.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Accepts any server certificate. When built [`AcceptAnyCert::recording`], it also asks the
/// real verifier and keeps its verdict for [`AcceptAnyCert::verdict`].
#[derive(Debug)]
pub struct AcceptAnyCert {
    algorithms: WebPkiSupportedAlgorithms,
    judge: Judge,
}

#[derive(Debug)]
enum Judge {
    /// The certificate is not looked at.
    Nobody,
    /// The real verifier (`None`: there were no trusted roots to build it from) and why it
    /// rejected the last certificate, if it did.
    Recorded {
        verifier: Option<Arc<WebPkiServerVerifier>>,
        verdict: Mutex<Option<String>>,
    },
}

impl AcceptAnyCert {
    /// Encrypts without authenticating the server, as libpq's `prefer` and `require` do.
    pub fn encrypt_only(algorithms: WebPkiSupportedAlgorithms) -> Self {
        Self {
            algorithms,
            judge: Judge::Nobody,
        }
    }

    /// Lets every certificate through but remembers what `verifier` said about it; `None`
    /// when this machine has no trusted roots, which is then the verdict.
    pub fn recording(
        algorithms: WebPkiSupportedAlgorithms,
        verifier: Option<Arc<WebPkiServerVerifier>>,
    ) -> Self {
        Self {
            algorithms,
            judge: Judge::Recorded {
                verifier,
                verdict: Mutex::new(None),
            },
        }
    }

    /// Why the real verifier rejected the last certificate; `None` when it accepted it, or when
    /// nobody judged it.
    pub fn verdict(&self) -> Option<String> {
        match &self.judge {
            Judge::Nobody => None,
            Judge::Recorded { verdict, .. } => verdict.lock().ok().and_then(|v| v.clone()),
        }
    }
}

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Judge::Recorded { verifier, verdict } = &self.judge {
            let said = match verifier {
                None => Some("no trusted root certificates are available on this machine".into()),
                Some(v) => v
                    .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                    .err()
                    .map(|e| e.to_string()),
            };
            if let Ok(mut kept) = verdict.lock() {
                *kept = said;
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
