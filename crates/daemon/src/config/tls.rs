//! `[tls]`: the certificate and key of the TLS listeners (`transport = "tls"`: DNS over TLS,
//! and zone transfers over TLS on unicast ones), and the session-ticket key a cloud's sites
//! share so a session resumed after a route change lands on a site that can decrypt it.
//!
//! ```toml
//! [tls]
//! certificate = "/etc/anyns/tls/cert.pem"   # PEM chain, leaf first
//! key = "/etc/anyns/tls/key.pem"            # PEM private key (PKCS#8, RSA >= 2048 or EC)
//! ticket-key-file = "/etc/anyns/tls/ticket.key"  # 64 hex digits, the same at every site
//!                                           # (a second line: the previous key, rotating);
//!                                           # default: a key drawn at start (no resumption
//!                                           # across sites)
//! ```
//! Everything is loaded and checked here, so `check-config` reports a missing file, a key
//! that does not match the certificate or is too weak, or a ticket key of the wrong length
//! by its key; `serve` loads them again on SIGHUP.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use super::error::ConfigError;

/// `[tls]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawTls {
    certificate: PathBuf,
    key: PathBuf,
    ticket_key_file: Option<PathBuf>,
}

/// The TLS settings, checked.
#[derive(Clone, Debug)]
pub struct TlsConfig {
    /// The certificate chain file.
    pub certificate: PathBuf,
    /// The private key file.
    pub key: PathBuf,
    /// The shared session-ticket key file, if any.
    pub ticket_key_file: Option<PathBuf>,
    /// The server configuration built from them at start-up.
    pub server: Arc<rustls::ServerConfig>,
}

/// The ALPN protocol of DNS over TLS and of XoT (RFC 7858 §3.2 as registered; RFC 9103 §7.1).
pub const ALPN_DOT: &[u8] = b"dot";

impl TlsConfig {
    /// Reads `[tls]`; relative paths are joined to `base`.
    pub(crate) fn load(raw: RawTls, base: &Path) -> Result<Self, ConfigError> {
        let certificate = base.join(raw.certificate);
        let key = base.join(raw.key);
        let ticket_key_file = raw.ticket_key_file.map(|f| base.join(f));
        let server = Arc::new(server_config(
            &certificate,
            &key,
            ticket_key_file.as_deref(),
        )?);
        Ok(Self {
            certificate,
            key,
            ticket_key_file,
            server,
        })
    }

    /// The server configuration from the files as they are now (SIGHUP).
    pub fn reload(&self) -> Result<Arc<rustls::ServerConfig>, ConfigError> {
        server_config(
            &self.certificate,
            &self.key,
            self.ticket_key_file.as_deref(),
        )
        .map(Arc::new)
    }
}

/// A rustls server configuration: TLS 1.3 and 1.2 (RFC 9103 §9 requires 1.3 for XoT: the
/// transfer path refuses older sessions), ALPN "dot", tickets from the shared key or a
/// per-process one.
fn server_config(
    certificate: &Path,
    key: &Path,
    ticket_key_file: Option<&Path>,
) -> Result<rustls::ServerConfig, ConfigError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(certificate)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| ConfigError::at("certificate", format!("{}: {e}", certificate.display())))?;
    if chain.is_empty() {
        return Err(ConfigError::at(
            "certificate",
            format!("{}: no certificate in it", certificate.display()),
        ));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| ConfigError::at("key", format!("{}: {e}", key.display())))?;
    // ring, not aws-lc-rs: ring is in the tree already (DNSSEC) and builds with the C
    // compiler alone, where aws-lc-rs needs cmake and minutes of build. The cost: rustls's
    // ring provider has no post-quantum key exchange (hence its deprecation note).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::at("key", e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| {
            ConfigError::at("key", format!("{}: {e}", key.display())).hint(
                "the key must match the certificate's and be ECDSA P-256/P-384, Ed25519 or RSA of 2048 bits or more",
            )
        })?;
    config.alpn_protocols = vec![ALPN_DOT.to_vec()];
    config.ticketer = match ticket_key_file {
        Some(file) => Arc::new(crate::tls_tickets::SharedTicketer::from_file(file)?),
        None => rustls::crypto::ring::Ticketer::new()
            .map_err(|e| ConfigError::at("ticket-key-file", e.to_string()))?,
    };
    Ok(config)
}
