//! Transfers requested over TLS (XoT, RFC 9103): TLS 1.3 with ALPN "dot" to the primary's
//! TLS port, the primary authenticated by pinning the SHA-256 of its certificate's
//! SubjectPublicKeyInfo (RFC 9103 §9.3's strict mode with SPKI pins, as RFC 7858 §4.2
//! describes them). No CA and no name: the operator of a hidden primary pins its key.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::error::TransferError;
use crate::config::ALPN_DOT;
use crate::config::transfer::TransferTls;

/// How long the handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts a server certificate only when its key is one of the pins.
#[derive(Debug)]
struct PinnedKey {
    pins: Vec<[u8; 32]>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedKey {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let spki = subject_public_key_info(end_entity).ok_or_else(|| {
            rustls::Error::General("the certificate's public key cannot be read".into())
        })?;
        let digest = ring::digest::digest(&ring::digest::SHA256, spki);
        if self.pins.iter().any(|pin| pin[..] == *digest.as_ref()) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the primary's key is not one of the pinned ones (transfer-tls.spki)".into(),
            ))
        }
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

/// One DER element at `der`: (tag, contents, the rest after it).
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let octets = usize::from(first & 0x7f);
        if octets == 0 || octets > 4 || rest.len() < octets {
            return None;
        }
        let len = rest[..octets]
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b));
        (len, &rest[octets..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The SubjectPublicKeyInfo (whole DER element) of an X.509 certificate: the seventh field
/// of tbsCertificate, counting the optional explicit version (RFC 5280 §4.1). A dozen lines
/// of DER walking instead of an X.509 parser crate for one field.
fn subject_public_key_info(cert: &[u8]) -> Option<&[u8]> {
    let (_, certificate, _) = element(cert)?;
    let (_, tbs, _) = element(certificate)?;
    let mut rest = tbs;
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after; // [0] EXPLICIT version
    }
    // serialNumber, signature, issuer, validity, subject.
    for _ in 0..5 {
        rest = element(rest)?.2;
    }
    let (tag, _, after) = element(rest)?;
    (tag == 0x30).then(|| &rest[..rest.len() - after.len()])
}

/// Wraps a TCP connection to `primary` in TLS 1.3 with the pinned key.
pub(crate) async fn connect(
    stream: TcpStream,
    primary: SocketAddr,
    tls: &TransferTls,
) -> Result<TlsStream<TcpStream>, TransferError> {
    // ring as for the server side (decision 0013).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinnedKey {
        pins: tls.spki_sha256.clone(),
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TransferError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_DOT.to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::IpAddress(primary.ip().into());
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, connector.connect(name, stream)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(err)) => Err(TransferError::Tls(err.to_string())),
        Err(_) => Err(TransferError::TimedOut("TLS handshake")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_and_a_truncated_certificate_are_handled() {
        assert_eq!(
            element(&[0x30, 0x02, 1, 2, 9]),
            Some((0x30, &[1u8, 2][..], &[9u8][..]))
        );
        let long: Vec<u8> = [0x04, 0x81, 0x80].into_iter().chain([7u8; 0x80]).collect();
        assert_eq!(element(&long).map(|e| e.1.len()), Some(0x80));
        assert_eq!(element(&[0x30, 0x05, 1]), None, "shorter than its length");
        assert_eq!(
            element(&[0x30, 0x85, 1, 1, 1, 1, 1]),
            None,
            "a 5-octet length"
        );
        assert_eq!(
            subject_public_key_info(&[0x30, 0x03, 0x30, 0x01, 0x02]),
            None
        );
    }
}
