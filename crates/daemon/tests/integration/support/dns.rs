//! DNS helpers: starting anyns and knotd on loopback on a staged copy of the zone
//! corpus, a small query builder, UDP/TCP exchanges and response summaries built with
//! `domain`.
//!
//! Every server is started as a child process and killed by its own PID in
//! `Drop`; nothing is ever killed by name.

use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use domain::base::iana::{Class, Rtype};
use domain::base::{Message, ParsedName, ToName};
use domain::rdata::AllRecordData;
use tempfile::TempDir;

use super::{anyns_bin, corpus_dir, free_port, require_tool, spawn_logged, wait_for};

/// Zones of the corpus in `tests/data`: (origin, file name).
pub(crate) const CORPUS_ZONES: &[(&str, &str)] = &[
    ("example.", "example.zone"),
    ("example.net.", "example.net.zone"),
    ("child.example.", "child.example.zone"),
    ("test.", "test.zone"),
];

/// NSID both servers are configured with, so that answers can be compared.
pub(crate) const TEST_NSID: &str = "anyns-test-1";

/// How long a server may take to answer its first query.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// UDP receive timeout for ordinary queries.
pub(crate) const UDP_TIMEOUT: Duration = Duration::from_secs(2);

// Record types and classes used by the tests, as plain integers so that
// malformed and unknown values are as easy to write as valid ones.
pub(crate) const A: u16 = 1;
pub(crate) const NS: u16 = 2;
pub(crate) const CNAME: u16 = 5;
pub(crate) const SOA: u16 = 6;
pub(crate) const PTR: u16 = 12;
pub(crate) const MX: u16 = 15;
pub(crate) const TXT: u16 = 16;
pub(crate) const AAAA: u16 = 28;
pub(crate) const SRV: u16 = 33;
pub(crate) const NAPTR: u16 = 35;
pub(crate) const DNAME: u16 = 39;
pub(crate) const OPT: u16 = 41;
pub(crate) const DS: u16 = 43;
pub(crate) const AXFR: u16 = 252;
pub(crate) const ANY: u16 = 255;
pub(crate) const CLASS_IN: u16 = 1;

/// RCODE values (header and extended).
pub(crate) const NOERROR: u16 = 0;
pub(crate) const FORMERR: u16 = 1;
pub(crate) const NXDOMAIN: u16 = 3;
pub(crate) const NOTIMP: u16 = 4;
pub(crate) const BADVERS: u16 = 16;

/// EDNS option code of NSID (RFC 5001).
const OPTION_NSID: u16 = 3;

// ---------------------------------------------------------------------------
// Corpus staging

/// Copies the corpus (top-level files only) into `dir` and returns the path of
/// the copy. Servers run with this directory as working directory, so a
/// relative `$INCLUDE` resolves the same whether a server takes it relative to
/// the including file (Knot, NSD) or to the working directory (BIND).
pub(crate) fn stage_corpus(dir: &Path) -> PathBuf {
    stage_zones(dir, &corpus_dir())
}

/// Copies the top-level files of `source` into `dir/zones` and returns that path.
pub(crate) fn stage_zones(dir: &Path, source: &Path) -> PathBuf {
    let zones = dir.join("zones");
    fs::create_dir_all(&zones).expect("create zone dir");
    for entry in fs::read_dir(source).expect("read corpus dir") {
        let entry = entry.expect("corpus dir entry");
        if entry.file_type().expect("file type").is_file() {
            fs::copy(entry.path(), zones.join(entry.file_name())).expect("copy corpus file");
        }
    }
    zones
}

// ---------------------------------------------------------------------------
// Server processes

/// A server child process, killed by PID when dropped.
pub(crate) struct ServerProcess {
    /// Human name for reports ("anyns", "knotd").
    pub(crate) name: &'static str,
    /// Address it serves on (UDP and TCP).
    pub(crate) addr: SocketAddr,
    child: Child,
    log: PathBuf,
    /// Temporary directory holding config, zones and state; held only to be removed on
    /// drop.
    _dir: TempDir,
}

impl ServerProcess {
    /// Whether the process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The process's log output so far (stderr and stdout).
    pub(crate) fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process ID.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the server answers a SOA query for `probe_zone`; panics with the log if
    /// it exits first or stays silent for [`STARTUP_TIMEOUT`].
    fn wait_ready(mut self, probe_zone: &str) -> Self {
        let probe = Query::new(probe_zone, SOA).id(0x5eed).to_bytes();
        let (name, addr, log) = (self.name, self.addr, &self.log);
        let child = &mut self.child;
        let read_log = || fs::read_to_string(log).unwrap_or_default();
        wait_for(
            &format!("{name} to answer a SOA query for {probe_zone} on {addr}"),
            STARTUP_TIMEOUT,
            || {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "{name} exited during startup with {status}; log:\n{}",
                        read_log()
                    );
                }
                let reply = udp_exchange_timeout(addr, &probe, Duration::from_millis(200))?;
                (reply.len() >= 12 && reply[0..2] == [0x5e, 0xed]).then_some(())
            },
            || format!("log:\n{}", read_log()),
        );
        self
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this child's PID only.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Options for starting anyns.
pub(crate) struct AnynsOptions<'a> {
    /// Zones as (origin, file name in the corpus).
    pub(crate) zones: &'a [(&'a str, &'a str)],
    /// NSID to configure, if any.
    pub(crate) nsid: Option<&'a str>,
    /// Directory holding the zone files (default: the corpus in `tests/data`).
    pub(crate) source: Option<&'a Path>,
}

impl Default for AnynsOptions<'_> {
    fn default() -> Self {
        Self {
            zones: CORPUS_ZONES,
            nsid: Some(TEST_NSID),
            source: None,
        }
    }
}

/// Starts anyns on a free loopback port with the staged corpus and waits until
/// it answers a SOA query for the first zone.
pub(crate) fn start_anyns(options: &AnynsOptions<'_>) -> ServerProcess {
    let bin = anyns_bin();
    let dir = tempfile::tempdir().expect("tempdir");
    let zones = match options.source {
        Some(source) => stage_zones(dir.path(), source),
        None => stage_corpus(dir.path()),
    };
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let log = dir.path().join("anyns.log");
    let mut command = Command::new(bin);
    command.arg("serve");
    for (origin, file) in options.zones {
        command
            .arg("--zone")
            .arg(format!("{origin}={}", zones.join(file).display()));
    }
    command.arg("--listen").arg(addr.to_string());
    if let Some(nsid) = options.nsid {
        command.arg("--nsid").arg(nsid);
    }
    command.current_dir(&zones);
    let child = spawn_logged("anyns", &mut command, &log);
    ServerProcess {
        name: "anyns",
        addr,
        child,
        log,
        _dir: dir,
    }
    .wait_ready(options.zones[0].0)
}

/// Environment variable naming the server under test: unset or `anyns` for
/// anyns, `knot` to run the same tests against knotd. Running them against
/// Knot proves the tests themselves right (like hickory's DNS_TEST_SUBJECT).
pub(crate) const SUBJECT_VAR: &str = "ANYNS_TEST_SUBJECT";

/// Starts the server under test (see [`SUBJECT_VAR`]) with the whole corpus.
pub(crate) fn start_subject() -> ServerProcess {
    match std::env::var(SUBJECT_VAR).as_deref() {
        Err(_) | Ok("anyns") => start_anyns(&AnynsOptions::default()),
        Ok("knot") => start_knot(CORPUS_ZONES),
        Ok(other) => panic!("{SUBJECT_VAR}={other}: expected `anyns` or `knot`"),
    }
}

/// Starts knotd with a configuration generated in a tempdir (all state inside
/// it) serving the staged corpus, and waits until it answers.
/// AXFR is allowed from 127.0.0.1 so tests can list the zone contents.
pub(crate) fn start_knot(zones: &[(&str, &str)]) -> ServerProcess {
    start_knot_from(zones, &corpus_dir())
}

/// [`start_knot`] with the zone files of `source`.
pub(crate) fn start_knot_from(zones: &[(&str, &str)], source: &Path) -> ServerProcess {
    start_knot_with(zones, source, "")
}

/// [`start_knot_from`] with lines added to knotd's default template (indented as its
/// keys: `    global-module: mod-cookies\n` answers DNS cookies).
pub(crate) fn start_knot_with(
    zones: &[(&str, &str)],
    source: &Path,
    template: &str,
) -> ServerProcess {
    let knotd = require_tool("knotd");
    let dir = tempfile::tempdir().expect("tempdir");
    let zone_dir = stage_zones(dir.path(), source);
    let state = dir.path().join("state");
    fs::create_dir_all(&state).expect("create knot state dir");
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut conf = format!(
        "server:\n\
         \x20   rundir: \"{state}\"\n\
         \x20   listen: 127.0.0.1@{port}\n\
         \x20   udp-max-payload: 1232\n\
         \x20   udp-workers: 1\n\
         \x20   tcp-workers: 1\n\
         \x20   background-workers: 1\n\
         \x20   nsid: \"{TEST_NSID}\"\n\
         \x20   identity: \"{TEST_NSID}\"\n\
         database:\n\
         \x20   storage: \"{state}\"\n\
         \x20   journal-db: \"{state}/journal\"\n\
         \x20   kasp-db: \"{state}/kasp\"\n\
         \x20   timer-db: \"{state}/timer\"\n\
         \x20   catalog-db: \"{state}/catalog\"\n\
         control:\n\
         \x20   listen: \"{state}/knot.sock\"\n\
         log:\n\
         \x20 - target: stderr\n\
         \x20   any: warning\n\
         acl:\n\
         \x20 - id: local-transfer\n\
         \x20   address: 127.0.0.1\n\
         \x20   action: transfer\n\
         template:\n\
         \x20 - id: default\n\
         \x20   storage: \"{zones}\"\n\
         \x20   zonefile-sync: -1\n\
         \x20   zonefile-load: whole\n\
         \x20   journal-content: none\n\
         \x20   semantic-checks: off\n\
         \x20   acl: local-transfer\n\
         {template}\
         zone:\n",
        state = state.display(),
        zones = zone_dir.display(),
    );
    for (origin, file) in zones {
        conf.push_str(&format!(
            "  - domain: \"{origin}\"\n    file: \"{}\"\n",
            zone_dir.join(file).display()
        ));
    }
    let conf_path = dir.path().join("knot.conf");
    fs::write(&conf_path, conf).expect("write knot.conf");
    let log = dir.path().join("knotd.log");
    let mut command = Command::new(knotd);
    command.arg("-c").arg(&conf_path).current_dir(&zone_dir);
    let child = spawn_logged("knotd", &mut command, &log);
    let server = ServerProcess {
        name: "knotd",
        addr,
        child,
        log,
        _dir: dir,
    }
    .wait_ready(zones[0].0);
    // knotd answers (REFUSED/SERVFAIL) before every zone is loaded; wait for
    // each zone's SOA to come back authoritative.
    for (origin, _) in zones {
        wait_for_authoritative_soa(&server, origin);
    }
    server
}

fn wait_for_authoritative_soa(server: &ServerProcess, origin: &str) {
    wait_for(
        &format!("{} to serve zone {origin} authoritatively", server.name),
        STARTUP_TIMEOUT,
        || {
            let reply = Query::new(origin, SOA).send_udp(server.addr)?;
            (reply.rcode == NOERROR && reply.aa && !reply.answer.is_empty()).then_some(())
        },
        || format!("log:\n{}", server.log()),
    );
}

// ---------------------------------------------------------------------------
// Names

/// Converts a presentation-format domain name (with `\.` and `\DDD` escapes)
/// to uncompressed wire format. A missing final dot is accepted.
pub(crate) fn name_to_wire(name: &str) -> Vec<u8> {
    let mut labels: Vec<Vec<u8>> = vec![Vec::new()];
    let mut bytes = name.bytes().peekable();
    while let Some(b) = bytes.next() {
        match b {
            b'\\' => {
                let first = bytes.next().expect("escape at end of name");
                if first.is_ascii_digit() {
                    let d2 = bytes.next().expect("short \\DDD escape");
                    let d3 = bytes.next().expect("short \\DDD escape");
                    let value = u16::from(first - b'0') * 100
                        + u16::from(d2 - b'0') * 10
                        + u16::from(d3 - b'0');
                    labels
                        .last_mut()
                        .unwrap()
                        .push(u8::try_from(value).expect("\\DDD > 255"));
                } else {
                    labels.last_mut().unwrap().push(first);
                }
            }
            b'.' => labels.push(Vec::new()),
            _ => labels.last_mut().unwrap().push(b),
        }
    }
    let mut wire = Vec::new();
    for label in labels.iter().filter(|label| !label.is_empty()) {
        wire.push(u8::try_from(label.len()).expect("label too long"));
        wire.extend_from_slice(label);
    }
    wire.push(0);
    wire
}

/// Renders a wire-format name in presentation format (escaping `.`, `\`,
/// spaces and non-printable bytes), preserving case.
pub(crate) fn wire_to_name(wire: &[u8]) -> String {
    let mut out = String::new();
    let mut pos = 0;
    while pos < wire.len() && wire[pos] != 0 {
        let len = usize::from(wire[pos]);
        for &b in &wire[pos + 1..(pos + 1 + len).min(wire.len())] {
            match b {
                b'.' | b'\\' | b'"' | b'(' | b')' | b';' => {
                    out.push('\\');
                    out.push(char::from(b));
                }
                0x21..=0x7e => out.push(char::from(b)),
                _ => out.push_str(&format!("\\{b:03}")),
            }
        }
        out.push('.');
        pos += 1 + len;
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

// ---------------------------------------------------------------------------
// Queries

/// EDNS(0) parameters of a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Edns {
    /// Requestor's UDP payload size.
    pub(crate) payload: u16,
    /// DNSSEC OK bit.
    pub(crate) dnssec_ok: bool,
    /// Whether to ask for NSID.
    pub(crate) nsid: bool,
    /// EDNS version.
    pub(crate) version: u8,
}

impl Edns {
    /// EDNS version 0 with the given payload size, DO clear, no options.
    pub(crate) fn payload(payload: u16) -> Self {
        Self {
            payload,
            dnssec_ok: false,
            nsid: false,
            version: 0,
        }
    }
}

/// A DNS query, built by hand so tests control every bit.
#[derive(Clone, Debug)]
pub(crate) struct Query {
    /// Message ID.
    pub(crate) id: u16,
    /// QNAME in wire format (case preserved).
    pub(crate) qname: Vec<u8>,
    /// QTYPE.
    pub(crate) qtype: u16,
    /// QCLASS.
    pub(crate) qclass: u16,
    /// Recursion desired.
    pub(crate) rd: bool,
    /// OPCODE (0 = QUERY).
    pub(crate) opcode: u8,
    /// EDNS, if any.
    pub(crate) edns: Option<Edns>,
}

impl Query {
    /// A QUERY for `name`/`qtype` in class IN, RD clear, no EDNS.
    pub(crate) fn new(name: &str, qtype: u16) -> Self {
        Self::with_wire_name(name_to_wire(name), qtype)
    }

    /// Like [`Query::new`] with a name already in wire format.
    pub(crate) fn with_wire_name(qname: Vec<u8>, qtype: u16) -> Self {
        Self {
            id: 0x1234,
            qname,
            qtype,
            qclass: CLASS_IN,
            rd: false,
            opcode: 0,
            edns: None,
        }
    }

    /// Sets the message ID.
    pub(crate) fn id(mut self, id: u16) -> Self {
        self.id = id;
        self
    }

    /// Sets the class.
    pub(crate) fn class(mut self, qclass: u16) -> Self {
        self.qclass = qclass;
        self
    }

    /// Sets RD.
    pub(crate) fn rd(mut self, rd: bool) -> Self {
        self.rd = rd;
        self
    }

    /// Adds (or removes) EDNS.
    pub(crate) fn edns(mut self, edns: Option<Edns>) -> Self {
        self.edns = edns;
        self
    }

    /// Presentation form of the question, for reports.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{} {} {}",
            wire_to_name(&self.qname),
            class_name(self.qclass),
            type_name(self.qtype)
        )
    }

    /// Wire format of the query.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut msg = Vec::with_capacity(64);
        msg.extend_from_slice(&self.id.to_be_bytes());
        let flags: u16 = (u16::from(self.opcode & 0x0f) << 11) | if self.rd { 0x0100 } else { 0 };
        msg.extend_from_slice(&flags.to_be_bytes());
        msg.extend_from_slice(&1u16.to_be_bytes());
        msg.extend_from_slice(&0u16.to_be_bytes());
        msg.extend_from_slice(&0u16.to_be_bytes());
        msg.extend_from_slice(&u16::from(self.edns.is_some()).to_be_bytes());
        msg.extend_from_slice(&self.qname);
        msg.extend_from_slice(&self.qtype.to_be_bytes());
        msg.extend_from_slice(&self.qclass.to_be_bytes());
        if let Some(edns) = self.edns {
            msg.extend_from_slice(&opt_record(edns));
        }
        msg
    }

    /// Sends over UDP (2 s timeout) and parses the reply.
    pub(crate) fn send_udp(&self, addr: SocketAddr) -> Option<Reply> {
        let bytes = udp_exchange(addr, &self.to_bytes())?;
        Some(Reply::parse(bytes))
    }

    /// Sends over a fresh TCP connection and parses the reply.
    pub(crate) fn send_tcp(&self, addr: SocketAddr) -> Option<Reply> {
        let bytes = tcp_exchange(addr, &self.to_bytes())?;
        Some(Reply::parse(bytes))
    }
}

/// The OPT pseudo-record (root owner) for `edns`.
pub(crate) fn opt_record(edns: Edns) -> Vec<u8> {
    let mut rr = vec![0u8];
    rr.extend_from_slice(&OPT.to_be_bytes());
    rr.extend_from_slice(&edns.payload.to_be_bytes());
    rr.push(0); // extended RCODE
    rr.push(edns.version);
    let flags: u16 = if edns.dnssec_ok { 0x8000 } else { 0 };
    rr.extend_from_slice(&flags.to_be_bytes());
    if edns.nsid {
        rr.extend_from_slice(&4u16.to_be_bytes());
        rr.extend_from_slice(&OPTION_NSID.to_be_bytes());
        rr.extend_from_slice(&0u16.to_be_bytes());
    } else {
        rr.extend_from_slice(&0u16.to_be_bytes());
    }
    rr
}

// ---------------------------------------------------------------------------
// Transports

/// Sends `query` over UDP and waits up to [`UDP_TIMEOUT`] for a reply.
pub(crate) fn udp_exchange(addr: SocketAddr, query: &[u8]) -> Option<Vec<u8>> {
    udp_exchange_timeout(addr, query, UDP_TIMEOUT)
}

/// Sends `query` over UDP and waits up to `timeout` for a reply whose first
/// two bytes (the ID) match, or for any reply if the query is shorter than 2.
pub(crate) fn udp_exchange_timeout(
    addr: SocketAddr,
    query: &[u8],
    timeout: Duration,
) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind client UDP socket");
    socket.connect(addr).expect("connect UDP socket");
    socket.send(query).expect("send UDP query");
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 65535];
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        socket
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .expect("set UDP timeout");
        match socket.recv(&mut buf) {
            Ok(n) => {
                if query.len() < 2 || (n >= 2 && buf[0..2] == query[0..2]) {
                    return Some(buf[..n].to_vec());
                }
            }
            Err(_) => return None,
        }
    }
}

/// Sends `query` over a new TCP connection with 2-byte length framing and
/// reads one framed reply. `None` if the server closes or times out.
pub(crate) fn tcp_exchange(addr: SocketAddr, query: &[u8]) -> Option<Vec<u8>> {
    let mut stream = tcp_connect(addr);
    tcp_send(&mut stream, query);
    tcp_read_frame(&mut stream)
}

/// Connects to `addr` over TCP with 2 s read/write timeouts.
pub(crate) fn tcp_connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, UDP_TIMEOUT).expect("TCP connect");
    stream
        .set_read_timeout(Some(UDP_TIMEOUT))
        .expect("set TCP read timeout");
    stream
        .set_write_timeout(Some(UDP_TIMEOUT))
        .expect("set TCP write timeout");
    stream
}

/// Writes one length-prefixed message.
pub(crate) fn tcp_send(stream: &mut TcpStream, message: &[u8]) {
    let len = u16::try_from(message.len()).expect("message fits a TCP frame");
    let mut frame = len.to_be_bytes().to_vec();
    frame.extend_from_slice(message);
    // The server may already have closed the connection for malformed input.
    let _ = stream.write_all(&frame);
}

/// Reads one length-prefixed message; `None` on EOF, error or timeout.
pub(crate) fn tcp_read_frame(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).ok()?;
    let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut message).ok()?;
    Some(message)
}

// ---------------------------------------------------------------------------
// Replies

/// One resource record in comparable form.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Rr {
    /// Owner, lowercased, presentation format.
    pub(crate) owner: String,
    /// Type.
    pub(crate) rtype: u16,
    /// Class.
    pub(crate) class: u16,
    /// TTL.
    pub(crate) ttl: u32,
    /// RDATA in presentation format (as printed by `domain`).
    pub(crate) rdata: String,
}

impl fmt::Display for Rr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {}",
            self.owner,
            self.ttl,
            class_name(self.class),
            type_name(self.rtype),
            self.rdata
        )
    }
}

/// The OPT record of a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ReplyOpt {
    /// Server's UDP payload size.
    pub(crate) payload: u16,
    /// EDNS version.
    pub(crate) version: u8,
    /// DO bit.
    pub(crate) dnssec_ok: bool,
    /// NSID option payload, if present.
    pub(crate) nsid: Option<Vec<u8>>,
}

/// A parsed reply, reduced to what the tests compare.
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    /// The raw bytes.
    pub(crate) bytes: Vec<u8>,
    /// Message ID.
    pub(crate) id: u16,
    /// QR flag.
    pub(crate) qr: bool,
    /// OPCODE.
    pub(crate) opcode: u8,
    /// Full RCODE (extended with the OPT's upper bits).
    pub(crate) rcode: u16,
    /// Flags.
    pub(crate) aa: bool,
    /// Truncated.
    pub(crate) tc: bool,
    /// Recursion desired (echoed).
    pub(crate) rd: bool,
    /// Recursion available.
    pub(crate) ra: bool,
    /// Authentic data.
    pub(crate) ad: bool,
    /// Question name in wire format (case as received), type, class.
    pub(crate) question: Option<(Vec<u8>, u16, u16)>,
    /// Answer section.
    pub(crate) answer: Vec<Rr>,
    /// Authority section.
    pub(crate) authority: Vec<Rr>,
    /// Additional section without OPT.
    pub(crate) additional: Vec<Rr>,
    /// OPT record, if present.
    pub(crate) opt: Option<ReplyOpt>,
    /// Number of OPT records seen.
    pub(crate) opt_count: usize,
    /// Parse problem, if the reply could not be fully parsed.
    pub(crate) parse_error: Option<String>,
}

impl Reply {
    /// Parses a reply; malformed parts are recorded in `parse_error`, never
    /// panicking, so a bad server reply shows up as a test mismatch.
    pub(crate) fn parse(bytes: Vec<u8>) -> Self {
        let mut reply = Self {
            bytes: bytes.clone(),
            id: 0,
            qr: false,
            opcode: 0,
            rcode: 0,
            aa: false,
            tc: false,
            rd: false,
            ra: false,
            ad: false,
            question: None,
            answer: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
            opt: None,
            opt_count: 0,
            parse_error: None,
        };
        let message = match Message::from_octets(bytes) {
            Ok(message) => message,
            Err(err) => {
                reply.parse_error = Some(format!("short message: {err}"));
                return reply;
            }
        };
        let header = message.header();
        reply.id = header.id();
        reply.qr = header.qr();
        reply.opcode = header.opcode().to_int();
        reply.rcode = u16::from(header.rcode().to_int());
        reply.aa = header.aa();
        reply.tc = header.tc();
        reply.rd = header.rd();
        reply.ra = header.ra();
        reply.ad = header.ad();
        if let Err(err) = reply.parse_sections(&message) {
            reply.parse_error = Some(err);
        }
        reply
    }

    fn parse_sections(&mut self, message: &Message<Vec<u8>>) -> Result<(), String> {
        let mut questions = message.question();
        if let Some(question) = questions.next() {
            let question = question.map_err(|err| format!("question: {err}"))?;
            let qname = question.qname().to_name::<Vec<u8>>();
            self.question = Some((
                qname.as_octets().clone(),
                question.qtype().to_int(),
                question.qclass().to_int(),
            ));
        }
        let answer = message.answer().map_err(|err| format!("answer: {err}"))?;
        self.answer = section_records(answer.into_iter())?;
        let authority = message
            .authority()
            .map_err(|err| format!("authority: {err}"))?;
        self.authority = section_records(authority.into_iter())?;
        let additional = message
            .additional()
            .map_err(|err| format!("additional: {err}"))?;
        for record in additional {
            let record = record.map_err(|err| format!("additional: {err}"))?;
            if record.rtype() == Rtype::OPT {
                self.opt_count += 1;
            } else {
                self.additional.push(convert_record(&record)?);
            }
        }
        if let Some(opt) = message.opt() {
            let nsid = opt
                .opt()
                .iter::<domain::base::opt::AllOptData<_, _>>()
                .filter_map(Result::ok)
                .find_map(|option| match option {
                    domain::base::opt::AllOptData::Nsid(nsid) => Some(nsid.as_slice().to_vec()),
                    _ => None,
                });
            self.rcode = opt.rcode(message.header()).to_int();
            self.opt = Some(ReplyOpt {
                payload: opt.udp_payload_size(),
                version: opt.version(),
                dnssec_ok: opt.dnssec_ok(),
                nsid,
            });
        }
        Ok(())
    }

    /// The question name as sent back, in presentation format.
    pub(crate) fn qname(&self) -> String {
        self.question
            .as_ref()
            .map_or_else(|| "<none>".to_owned(), |(name, _, _)| wire_to_name(name))
    }
}

fn section_records<'a>(
    records: impl Iterator<
        Item = Result<
            domain::base::record::ParsedRecord<'a, Vec<u8>>,
            domain::base::wire::ParseError,
        >,
    >,
) -> Result<Vec<Rr>, String> {
    records
        .map(|record| {
            record
                .map_err(|err| format!("record: {err}"))
                .and_then(|record| convert_record(&record))
        })
        .collect()
}

fn convert_record(record: &domain::base::record::ParsedRecord<'_, Vec<u8>>) -> Result<Rr, String> {
    let owner = record.owner().to_string().to_ascii_lowercase();
    let parsed = record
        .to_any_record::<AllRecordData<&[u8], ParsedName<&[u8]>>>()
        .map_err(|err| format!("rdata of {owner} {}: {err}", record.rtype()))?;
    Ok(Rr {
        owner: if owner.ends_with('.') {
            owner
        } else {
            format!("{owner}.")
        },
        rtype: record.rtype().to_int(),
        class: record.class().to_int(),
        ttl: record.ttl().as_secs(),
        rdata: parsed.data().to_string(),
    })
}

/// Mnemonic of a record type (`TYPE1234` for unknown ones).
pub(crate) fn type_name(rtype: u16) -> String {
    Rtype::from_int(rtype).to_string()
}

/// Mnemonic of a class.
pub(crate) fn class_name(class: u16) -> String {
    Class::from_int(class).to_string()
}

/// Mnemonic of a (possibly extended) RCODE.
pub(crate) fn rcode_name(rcode: u16) -> String {
    match rcode {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        9 => "NOTAUTH".into(),
        16 => "BADVERS".into(),
        other => format!("RCODE{other}"),
    }
}

// ---------------------------------------------------------------------------
// Zone listing through AXFR (from knotd)

/// Fetches `zone` by AXFR over TCP and returns its records (first SOA
/// included once), with owner case preserved in wire form alongside.
pub(crate) fn axfr(addr: SocketAddr, zone: &str) -> Vec<(Vec<u8>, Rr)> {
    let mut stream = tcp_connect(addr);
    tcp_send(&mut stream, &Query::new(zone, AXFR).id(0xaf7).to_bytes());
    let mut records = Vec::new();
    let mut soa_seen = 0;
    while soa_seen < 2 {
        let frame = tcp_read_frame(&mut stream)
            .unwrap_or_else(|| panic!("AXFR of {zone} from {addr} ended early"));
        let message = Message::from_octets(frame).expect("AXFR message");
        assert_eq!(
            message.header().rcode().to_int(),
            0,
            "AXFR of {zone} refused"
        );
        for record in message.answer().expect("AXFR answer section") {
            let record = record.expect("AXFR record");
            let rr = convert_record(&record).expect("AXFR record data");
            if rr.rtype == SOA {
                soa_seen += 1;
                if soa_seen == 2 {
                    break;
                }
            }
            let owner = record.owner().to_name::<Vec<u8>>().as_octets().clone();
            records.push((owner, rr));
        }
    }
    records
}

// ---------------------------------------------------------------------------
// Deterministic pseudo-randomness (no extra dependency)

/// xorshift64* generator, seeded, for reproducible random inputs.
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// Next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..bound`.
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next_u64() % u64::try_from(bound).expect("bound fits u64"))
            .expect("value below a usize bound")
    }

    /// `n` random bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64().to_le_bytes()[0]).collect()
    }
}

/// Randomizes the ASCII letter case of a wire-format name (DNS 0x20).
pub(crate) fn randomize_case(wire: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = wire.to_vec();
    let mut pos = 0;
    while pos < out.len() && out[pos] != 0 {
        let len = usize::from(out[pos]);
        for b in &mut out[pos + 1..pos + 1 + len] {
            if b.is_ascii_alphabetic() && rng.next_u64() & 1 == 1 {
                *b ^= 0x20;
            }
        }
        pos += 1 + len;
    }
    out
}
