//! The connection probe (`anyns-lab connection-probe`, run inside a client namespace): one
//! long-lived DNS connection (TCP, or TLS with or without session resumption) to an
//! anycast address, a query every interval. When the route moves to another site, the
//! connection breaks (the new site has no state for it: a reset, or silence); the probe
//! reconnects at once and records what that cost: the queries lost, how long until the next
//! answer, and whether the TLS session was resumed (the sites share the ticket key).
//! One JSON line per event on stdout.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};

/// How the probe talks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Plain TCP (RFC 7766).
    Tcp,
    /// TLS, resuming sessions from the tickets received.
    TlsResume,
    /// TLS, a full handshake every time.
    TlsFull,
}

/// The lab's certificate is self-signed: the probe measures connections, not trust.
#[derive(Debug)]
struct AnyCertificate(rustls::crypto::WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// A connection of either kind.
enum Connection {
    Tcp(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Connection {
    fn stream(&mut self) -> &mut dyn ReadWrite {
        match self {
            Self::Tcp(s) => s,
            Self::Tls(s) => s.as_mut(),
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Connects (and for TLS completes the handshake); returns whether TLS resumed.
fn connect(
    address: SocketAddr,
    tls: Option<&Arc<rustls::ClientConfig>>,
    timeout: Duration,
) -> std::io::Result<(Connection, bool)> {
    let tcp = TcpStream::connect_timeout(&address, timeout)?;
    tcp.set_read_timeout(Some(timeout))?;
    tcp.set_write_timeout(Some(timeout))?;
    tcp.set_nodelay(true)?;
    let Some(config) = tls else {
        return Ok((Connection::Tcp(tcp), false));
    };
    let name = ServerName::IpAddress(address.ip().into());
    let connection = ClientConnection::new(config.clone(), name).map_err(std::io::Error::other)?;
    let mut stream = StreamOwned::new(connection, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    let resumed = stream.conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
    Ok((Connection::Tls(Box::new(stream)), resumed))
}

/// One query (`qname` SOA) and its answer on `connection`.
fn exchange(connection: &mut Connection, id: u16, qname: &[u8]) -> std::io::Result<()> {
    let message = crate::dns::build_query(id, qname, 6, false, false);
    let mut framed = (message.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&message);
    let stream = connection.stream();
    stream.write_all(&framed)?;
    stream.flush()?;
    let mut length = [0u8; 2];
    stream.read_exact(&mut length)?;
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(length))];
    stream.read_exact(&mut answer)?;
    if answer.get(..2) != Some(&id.to_be_bytes()[..]) {
        return Err(std::io::Error::other("answer to another query"));
    }
    Ok(())
}

/// Runs the probe; prints one JSON line per connection and per failure.
pub fn run(
    address: SocketAddr,
    qname: &str,
    mode: Mode,
    interval: Duration,
    duration: Duration,
) -> Result<(), crate::Error> {
    let qname = dns_wire::name_from_text(qname)
        .map_err(|e| crate::Error::Topology(format!("{qname:?}: {e}")))?;
    let tls = (mode != Mode::Tcp).then(|| {
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(AnyCertificate(provider.signature_verification_algorithms));
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"dot".to_vec()];
        if mode == Mode::TlsFull {
            config.resumption = rustls::client::Resumption::disabled();
        }
        Arc::new(config)
    });
    let started = Instant::now();
    let ms = |at: Instant| at.duration_since(started).as_secs_f64() * 1000.0;
    let timeout = interval * 10;
    let mut connection: Option<Connection> = None;
    let mut id = 0u16;
    let (mut sent, mut answered) = (0u64, 0u64);
    let mut broken_at: Option<Instant> = None;
    while started.elapsed() < duration {
        let tick = Instant::now();
        if connection.is_none() {
            match connect(address, tls.as_ref(), timeout) {
                Ok((c, resumed)) => {
                    println!(
                        "{{\"event\":\"connected\",\"at_ms\":{:.1},\"handshake_ms\":{:.1},\"resumed\":{resumed}}}",
                        ms(tick),
                        tick.elapsed().as_secs_f64() * 1000.0
                    );
                    connection = Some(c);
                }
                Err(err) => {
                    println!(
                        "{{\"event\":\"connect-failed\",\"at_ms\":{:.1},\"error\":\"{err}\"}}",
                        ms(tick)
                    );
                }
            }
        }
        if let Some(c) = &mut connection {
            id = id.wrapping_add(1);
            sent += 1;
            match exchange(c, id, &qname) {
                Ok(()) => {
                    answered += 1;
                    if let Some(at) = broken_at.take() {
                        println!(
                            "{{\"event\":\"answered-again\",\"at_ms\":{:.1},\"gap_ms\":{:.1}}}",
                            ms(Instant::now()),
                            at.elapsed().as_secs_f64() * 1000.0
                        );
                    }
                }
                Err(err) => {
                    println!(
                        "{{\"event\":\"broken\",\"at_ms\":{:.1},\"error\":\"{}\"}}",
                        ms(tick),
                        err.to_string().replace('"', "'")
                    );
                    broken_at.get_or_insert(tick);
                    connection = None;
                    continue;
                }
            }
        }
        std::thread::sleep(interval.saturating_sub(tick.elapsed()));
    }
    println!("{{\"event\":\"done\",\"sent\":{sent},\"answered\":{answered}}}");
    Ok(())
}
