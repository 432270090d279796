//! The lab's DNS client. `anyns-lab probe` runs inside a client namespace (started with `ip
//! netns exec`) and prints one `key=value` line per query as soon as its outcome is known;
//! [`Stream`] reads those lines on the controlling side while the run goes on.
//!
//! UDP queries go out from one unconnected socket per family (ICMP errors do not end the
//! run), one every `interval`, each waiting up to `timeout` for its answer. TCP queries
//! share one connection per server, as a resolver keeps one open (RFC 7766 §6.2.1); a
//! query whose connection fails counts as failed and the next query reconnects.
//! Bounded: at most [`MAX_COUNT`] queries and [`MAX_RUN`] of wall time.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::dns::{self, Summary};
use crate::{Error, system};

/// Most queries one probe run sends.
pub const MAX_COUNT: u32 = 10_000;
/// Longest a probe run lasts.
pub const MAX_RUN: Duration = Duration::from_secs(120);

/// What to ask, where, how often.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// Servers, each asked in turn every round.
    pub servers: Vec<IpAddr>,
    /// Query name.
    pub qname: String,
    /// Query type.
    pub qtype: u16,
    /// Rounds.
    pub count: u32,
    /// Time between rounds.
    pub interval: Duration,
    /// How long each query waits for its answer.
    pub timeout: Duration,
    /// Over TCP (one connection per server, reconnecting after a failure).
    pub tcp: bool,
    /// With EDNS (and the NSID option).
    pub edns: bool,
    /// With RD: the servers are resolvers.
    pub rd: bool,
}

impl ProbeOptions {
    /// One SOA query with EDNS to each server.
    pub fn once(servers: &[IpAddr], zone: &str) -> Self {
        Self {
            servers: servers.to_vec(),
            qname: zone.into(),
            qtype: dns::qtype::SOA,
            count: 1,
            interval: Duration::ZERO,
            timeout: Duration::from_millis(500),
            tcp: false,
            edns: true,
            rd: false,
        }
    }

    /// `count` queries for `qname`/`qtype` with RD to one resolver, `rate` per second.
    pub fn resolve(server: IpAddr, qname: &str, qtype: u16, rate: u32, count: u32) -> Self {
        Self {
            qtype,
            rd: true,
            ..Self::stream(server, qname, rate, count)
        }
    }

    /// `rate` SOA queries per second for `count` rounds to one server.
    pub fn stream(server: IpAddr, zone: &str, rate: u32, count: u32) -> Self {
        let interval = Duration::from_secs(1) / rate.max(1);
        Self {
            servers: vec![server],
            count,
            interval,
            timeout: interval.max(Duration::from_millis(20)),
            ..Self::once(&[server], zone)
        }
    }

    /// The probe subcommand's arguments.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec!["probe".to_string()];
        for s in &self.servers {
            args.push("--server".into());
            args.push(s.to_string());
        }
        args.extend([
            "--qname".into(),
            self.qname.clone(),
            "--qtype".into(),
            format!("TYPE{}", self.qtype),
            "--count".into(),
            self.count.to_string(),
            "--interval-ms".into(),
            self.interval.as_millis().to_string(),
            "--timeout-ms".into(),
            self.timeout.as_millis().to_string(),
        ]);
        if self.tcp {
            args.push("--tcp".into());
        }
        if !self.edns {
            args.push("--no-edns".into());
        }
        if self.rd {
            args.push("--rd".into());
        }
        args
    }
}

/// How a query ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An answer came back.
    Answered(Summary),
    /// Nothing within the timeout.
    Timeout,
    /// The connection failed (TCP), with the OS's reason.
    Failed(String),
}

/// One query of a probe run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeRecord {
    /// Round number.
    pub seq: u32,
    /// Server asked.
    pub server: IpAddr,
    /// When it was sent (wall clock, comparable across namespaces on one machine).
    pub sent: SystemTime,
    /// Round-trip time if answered.
    pub rtt: Option<Duration>,
    /// TCP connection number (1 = first), 0 for UDP.
    pub connection: u32,
    /// The outcome.
    pub outcome: Outcome,
}

impl ProbeRecord {
    /// The answer, if any.
    pub fn answer(&self) -> Option<&Summary> {
        match &self.outcome {
            Outcome::Answered(s) => Some(s),
            _ => None,
        }
    }

    /// The NSID of the answer, if any.
    pub fn nsid(&self) -> Option<&str> {
        self.answer()?.nsid.as_deref()
    }

    /// When the answer arrived.
    pub fn answered_at(&self) -> Option<SystemTime> {
        Some(self.sent + self.rtt?)
    }

    /// The record as one output line.
    pub fn to_line(&self) -> String {
        let sent = self
            .sent
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let mut line = format!(
            "seq={} server={} sent_ns={sent} conn={}",
            self.seq, self.server, self.connection
        );
        match &self.outcome {
            Outcome::Answered(s) => {
                line.push_str(&format!(
                    " outcome=ok rtt_us={} rcode={} aa={} ra={} ad={} tc={} ancount={} size={} nsid={} serial={}",
                    self.rtt.unwrap_or_default().as_micros(),
                    s.rcode,
                    u8::from(s.aa),
                    u8::from(s.ra),
                    u8::from(s.ad),
                    u8::from(s.tc),
                    s.ancount,
                    s.size,
                    s.nsid.as_deref().unwrap_or("-"),
                    s.serial.map_or_else(|| "-".into(), |v| v.to_string()),
                ));
            }
            Outcome::Timeout => line.push_str(" outcome=timeout"),
            Outcome::Failed(why) => line.push_str(&format!(" outcome=failed reason={why}")),
        }
        line
    }

    /// Parses a line written by [`Self::to_line`].
    pub fn from_line(line: &str) -> Option<Self> {
        let fields: HashMap<&str, &str> = line
            .split_whitespace()
            .filter_map(|f| f.split_once('='))
            .collect();
        let num = |k: &str| fields.get(k)?.parse::<u64>().ok();
        let sent = UNIX_EPOCH + Duration::from_nanos(num("sent_ns")?);
        let outcome = match *fields.get("outcome")? {
            "ok" => Outcome::Answered(Summary {
                id: 0,
                rcode: num("rcode")? as u8,
                aa: num("aa")? == 1,
                ra: num("ra") == Some(1),
                ad: num("ad") == Some(1),
                tc: num("tc")? == 1,
                ancount: num("ancount")? as u16,
                nsid: fields
                    .get("nsid")
                    .filter(|v| **v != "-")
                    .map(|v| v.to_string()),
                serial: num("serial").map(|v| v as u32),
                size: num("size")? as usize,
            }),
            "timeout" => Outcome::Timeout,
            _ => Outcome::Failed(fields.get("reason").unwrap_or(&"?").to_string()),
        };
        Some(Self {
            seq: num("seq")? as u32,
            server: fields.get("server")?.parse().ok()?,
            sent,
            rtt: num("rtt_us").map(Duration::from_micros),
            connection: num("conn")? as u32,
            outcome,
        })
    }
}

/// Runs a probe here (inside the client's namespace), calling `emit` per query.
pub fn run_probe(options: &ProbeOptions, mut emit: impl FnMut(&ProbeRecord)) -> Result<(), Error> {
    let qname = dns_wire::name_from_text(&options.qname)
        .map_err(|e| Error::Topology(format!("--qname {:?}: {e}", options.qname)))?;
    let mut udp4: Option<UdpSocket> = None;
    let mut udp6: Option<UdpSocket> = None;
    let mut tcp: HashMap<IpAddr, (TcpStream, u32)> = HashMap::new();
    let mut connections: HashMap<IpAddr, u32> = HashMap::new();
    let start = Instant::now();
    let mut id: u16 = (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos()
        & 0xffff) as u16;
    for seq in 0..options.count.min(MAX_COUNT) {
        let due = start + options.interval * seq;
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        if start.elapsed() > MAX_RUN {
            break;
        }
        for &server in &options.servers {
            id = id.wrapping_add(1);
            let query = dns::build_query(id, &qname, options.qtype, options.edns, options.rd);
            let sent = SystemTime::now();
            let began = Instant::now();
            let (outcome, connection) = if options.tcp {
                tcp_query(server, &query, options.timeout, &mut tcp, &mut connections)
            } else {
                let socket = match server {
                    IpAddr::V4(_) => &mut udp4,
                    IpAddr::V6(_) => &mut udp6,
                };
                (udp_query(socket, server, id, &query, options.timeout), 0)
            };
            let rtt = matches!(outcome, Outcome::Answered(_)).then(|| began.elapsed());
            emit(&ProbeRecord {
                seq,
                server,
                sent,
                rtt,
                connection,
                outcome,
            });
        }
    }
    Ok(())
}

fn udp_query(
    socket: &mut Option<UdpSocket>,
    server: IpAddr,
    id: u16,
    query: &[u8],
    timeout: Duration,
) -> Outcome {
    if socket.is_none() {
        let bind: SocketAddr = match server {
            IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        match UdpSocket::bind(bind) {
            Ok(s) => *socket = Some(s),
            Err(e) => return Outcome::Failed(reason(&e)),
        }
    }
    let Some(socket) = socket.as_ref() else {
        return Outcome::Failed("no socket".into());
    };
    let to = SocketAddr::new(server, 53);
    if let Err(e) = socket.send_to(query, to) {
        return Outcome::Failed(reason(&e));
    }
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
            return Outcome::Timeout;
        }
        match socket.recv_from(&mut buf) {
            Ok((n, from)) if from == to => {
                if let Some(s) = dns::parse_response(&buf[..n]).filter(|s| s.id == id) {
                    return Outcome::Answered(s);
                }
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Outcome::Timeout;
            }
            Err(_) => {}
        }
    }
}

fn tcp_query(
    server: IpAddr,
    query: &[u8],
    timeout: Duration,
    open: &mut HashMap<IpAddr, (TcpStream, u32)>,
    connections: &mut HashMap<IpAddr, u32>,
) -> (Outcome, u32) {
    if let std::collections::hash_map::Entry::Vacant(slot) = open.entry(server) {
        let n = connections.entry(server).or_default();
        *n += 1;
        match TcpStream::connect_timeout(&SocketAddr::new(server, 53), timeout) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                slot.insert((stream, *n));
            }
            Err(e) => return (Outcome::Failed(reason(&e)), *n),
        }
    }
    let Some((stream, n)) = open.get_mut(&server) else {
        return (Outcome::Failed("no connection".into()), 0);
    };
    let n = *n;
    let exchange = |stream: &mut TcpStream| -> std::io::Result<Vec<u8>> {
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let mut framed = (query.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(query);
        stream.write_all(&framed)?;
        let mut len = [0u8; 2];
        stream.read_exact(&mut len)?;
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut answer)?;
        Ok(answer)
    };
    match exchange(stream) {
        Ok(answer) => match dns::parse_response(&answer) {
            Some(s) => (Outcome::Answered(s), n),
            None => {
                open.remove(&server);
                (Outcome::Failed("malformed".into()), n)
            }
        },
        Err(e) => {
            open.remove(&server);
            let outcome = if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) {
                Outcome::Timeout
            } else {
                Outcome::Failed(reason(&e))
            };
            (outcome, n)
        }
    }
}

fn reason(e: &std::io::Error) -> String {
    format!("{:?}", e.kind())
}

/// A probe running in a client namespace; its records arrive while it runs.
pub struct Stream {
    child: Option<Child>,
    records: Arc<Mutex<Vec<ProbeRecord>>>,
    reader: Option<JoinHandle<()>>,
}

impl Stream {
    /// Starts `anyns-lab probe` (the binary `lab_bin`) inside namespace `ns`.
    pub fn start(
        ns: &str,
        lab_bin: &std::path::Path,
        options: &ProbeOptions,
    ) -> Result<Self, Error> {
        let mut child = system::in_ns(ns, lab_bin)
            .args(options.to_args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::io(format!("start probe in {ns}"), e))?;
        let records = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take();
        let sink = records.clone();
        let reader = std::thread::spawn(move || {
            let Some(stdout) = stdout else { return };
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(record) = ProbeRecord::from_line(&line) {
                    sink.lock().unwrap_or_else(|e| e.into_inner()).push(record);
                }
            }
        });
        Ok(Self {
            child: Some(child),
            records,
            reader: Some(reader),
        })
    }

    /// The records so far.
    pub fn records(&self) -> Vec<ProbeRecord> {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until at least `n` records arrived (bounded by `timeout`).
    pub fn wait_records(&self, n: usize, timeout: Duration) -> Vec<ProbeRecord> {
        let deadline = Instant::now() + timeout;
        loop {
            let records = self.records();
            if records.len() >= n || Instant::now() >= deadline {
                return records;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for the run to end and returns every record.
    pub fn finish(mut self) -> Vec<ProbeRecord> {
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.records()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Failover figures from a stream, around an event at `at` that moved traffic away from
/// site `from`.
#[derive(Clone, Debug)]
pub struct Failover {
    /// Queries sent.
    pub sent: usize,
    /// Queries without an answer.
    pub lost: usize,
    /// From the event to the first answer from another site.
    pub to_other_site: Option<Duration>,
    /// The first other site that answered.
    pub new_site: Option<String>,
    /// From the event to the last answer from `from` (answers still arriving).
    pub last_from_old: Option<Duration>,
}

impl Failover {
    /// Computes the figures.
    pub fn measure(records: &[ProbeRecord], at: SystemTime, from: &str) -> Self {
        let after = |t: SystemTime| t.duration_since(at).ok();
        let first_other = records
            .iter()
            .filter(|r| r.sent >= at)
            .find(|r| r.nsid().is_some_and(|n| n != from));
        let last_old = records
            .iter()
            .filter(|r| r.nsid() == Some(from))
            .filter_map(|r| r.answered_at())
            .filter_map(after)
            .max();
        Self {
            sent: records.len(),
            lost: records.iter().filter(|r| r.answer().is_none()).count(),
            to_other_site: first_other.and_then(|r| r.answered_at()).and_then(after),
            new_site: first_other.and_then(|r| r.nsid()).map(str::to_owned),
            last_from_old: last_old,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_their_line() {
        let records = [
            ProbeRecord {
                seq: 7,
                server: "2001:db8:53::1".parse().unwrap(),
                sent: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789),
                rtt: Some(Duration::from_micros(250)),
                connection: 2,
                outcome: Outcome::Answered(Summary {
                    rcode: 0,
                    aa: true,
                    ra: true,
                    ad: true,
                    tc: false,
                    ancount: 1,
                    nsid: Some("ams".into()),
                    serial: Some(2026010101),
                    size: 99,
                    id: 0,
                }),
            },
            ProbeRecord {
                seq: 8,
                server: "203.0.113.53".parse().unwrap(),
                sent: UNIX_EPOCH + Duration::from_secs(5),
                rtt: None,
                connection: 0,
                outcome: Outcome::Timeout,
            },
            ProbeRecord {
                seq: 9,
                server: "203.0.113.53".parse().unwrap(),
                sent: UNIX_EPOCH + Duration::from_secs(6),
                rtt: None,
                connection: 3,
                outcome: Outcome::Failed("ConnectionReset".into()),
            },
        ];
        for r in records {
            assert_eq!(ProbeRecord::from_line(&r.to_line()), Some(r.clone()));
        }
    }
}
