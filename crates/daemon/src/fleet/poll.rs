//! The fleet view's network side: one `GET /status` per anyns process and one query per
//! anycast address, all at once (a thread each) and each bounded by the inventory's
//! timeout, so an unreachable site costs one timeout, never a hang.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use dns_wire::types::{class, option, rtype};
use dns_wire::{Header, MessageWriter, Response, Section};

use super::inventory::Inventory;

/// Longest status answer read (a site with a large catalog lists many zones).
const MAX_STATUS: usize = 16 << 20;

/// What one status endpoint said: its JSON, or why there is none.
pub(crate) type Polled = Result<serde_json::Value, String>;

/// Who answered one anycast address from here.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Answered {
    /// The identity the answer carried (NSID, else the CHAOS id.server TXT).
    pub(crate) identity: String,
    /// Round trip.
    pub(crate) rtt: Duration,
}

/// Everything polled once: per site, per status endpoint; per cloud, per address.
pub(crate) struct Poll {
    pub(crate) sites: Vec<Vec<Polled>>,
    pub(crate) anycast: Vec<Vec<Result<Answered, String>>>,
    /// When the polls started.
    pub(crate) at: Instant,
}

/// Polls every endpoint and asks every anycast address, in parallel.
// The collects spawn every thread before the first join: lazily, they would run one by one.
#[allow(clippy::needless_collect)]
pub(crate) fn poll_all(inventory: &Inventory) -> Poll {
    let at = Instant::now();
    let timeout = inventory.timeout;
    std::thread::scope(|scope| {
        let sites: Vec<Vec<_>> = inventory
            .sites
            .iter()
            .map(|site| {
                site.status
                    .iter()
                    .map(|&address| scope.spawn(move || status(address, timeout)))
                    .collect()
            })
            .collect();
        let anycast: Vec<Vec<_>> = inventory
            .clouds
            .iter()
            .map(|cloud| {
                cloud
                    .addresses
                    .iter()
                    .map(|&address| scope.spawn(move || who_answers(address, timeout)))
                    .collect()
            })
            .collect();
        Poll {
            sites: sites
                .into_iter()
                .map(|handles| handles.into_iter().map(join).collect())
                .collect(),
            anycast: anycast
                .into_iter()
                .map(|handles| handles.into_iter().map(join).collect())
                .collect(),
            at,
        }
    })
}

/// A poll thread's result (a panic in it becomes an error for its cell).
fn join<T>(handle: std::thread::ScopedJoinHandle<'_, Result<T, String>>) -> Result<T, String> {
    handle
        .join()
        .unwrap_or_else(|_| Err("poll thread panicked".to_string()))
}

/// One `GET /status`, the whole exchange within `timeout`.
pub(crate) fn status(address: SocketAddr, timeout: Duration) -> Polled {
    let deadline = Instant::now() + timeout;
    let remaining = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("no answer within {} ms", timeout.as_millis()))
    };
    let mut stream =
        TcpStream::connect_timeout(&address, remaining()?).map_err(|e| format!("connect: {e}"))?;
    stream
        .write_all(b"GET /status HTTP/1.1\r\nHost: anyns\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("send: {e}"))?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        stream
            .set_read_timeout(Some(remaining()?))
            .map_err(|e| format!("read: {e}"))?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                response.extend_from_slice(&chunk[..n]);
                if response.len() > MAX_STATUS {
                    return Err("status answer too large".to_string());
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!("no answer within {} ms", timeout.as_millis()));
            }
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("not an HTTP answer")?;
    let status_line = head.lines().next().unwrap_or_default();
    if !status_line.contains(" 200 ") {
        return Err(format!("{status_line} (an anyns older than GET /status?)"));
    }
    serde_json::from_str(body).map_err(|e| format!("unreadable status: {e}"))
}

/// Asks `address` for `id.server. CH TXT` with an NSID option; the identity is the NSID,
/// else the TXT answer.
pub(crate) fn who_answers(address: SocketAddr, timeout: Duration) -> Result<Answered, String> {
    let local: SocketAddr = if address.is_ipv4() {
        "0.0.0.0:0".parse().expect("literal")
    } else {
        "[::]:0".parse().expect("literal")
    };
    let socket = UdpSocket::bind(local).map_err(|e| format!("socket: {e}"))?;
    socket
        .connect(address)
        .map_err(|e| format!("connect: {e}"))?;
    let id = (std::process::id() as u16) ^ (Instant::now().elapsed().subsec_nanos() as u16);
    let query = nsid_query(id);
    let started = Instant::now();
    socket.send(&query).map_err(|e| format!("send: {e}"))?;
    let mut buf = [0u8; 4096];
    loop {
        let left = timeout
            .checked_sub(started.elapsed())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("no answer within {} ms", timeout.as_millis()))?;
        socket
            .set_read_timeout(Some(left))
            .map_err(|e| format!("receive: {e}"))?;
        let n = match socket.recv(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!("no answer within {} ms", timeout.as_millis()));
            }
            Err(e) => return Err(format!("receive: {e}")),
        };
        let Ok(response) = Response::parse(&buf[..n]) else {
            continue;
        };
        if response.header.id != id {
            continue;
        }
        let rtt = started.elapsed();
        return identity_of(&response)
            .map(|identity| Answered { identity, rtt })
            .ok_or_else(|| "answered without NSID or id.server".to_string());
    }
}

/// `id.server. CH TXT` with EDNS and an empty NSID option.
fn nsid_query(id: u16) -> Vec<u8> {
    let mut question = b"\x02id\x06server\x00".to_vec();
    question.extend_from_slice(&rtype::TXT.to_be_bytes());
    question.extend_from_slice(&class::CH.to_be_bytes());
    let mut out = Vec::new();
    let header = Header {
        id,
        ..Header::default()
    };
    let mut writer = MessageWriter::new(&mut out, header, Some(&question));
    let _ = writer.push_opt(1232, 0, false, &[(option::NSID, &[])]);
    writer.finish();
    out
}

/// The NSID of a response, else its first TXT answer's text.
fn identity_of(response: &Response<'_>) -> Option<String> {
    for record in response.records(Section::Additional).flatten() {
        if record.rtype != rtype::OPT {
            continue;
        }
        let mut options = record.rdata.as_slice();
        while options.len() >= 4 {
            let code = u16::from_be_bytes([options[0], options[1]]);
            let len = usize::from(u16::from_be_bytes([options[2], options[3]]));
            let Some(data) = options.get(4..4 + len) else {
                break;
            };
            if code == option::NSID && !data.is_empty() {
                return Some(String::from_utf8_lossy(data).into_owned());
            }
            options = &options[4 + len..];
        }
    }
    response
        .records(Section::Answer)
        .flatten()
        .find(|r| r.rtype == rtype::TXT)
        .and_then(|r| {
            let len = usize::from(*r.rdata.first()?);
            Some(String::from_utf8_lossy(r.rdata.get(1..1 + len)?).into_owned())
        })
}
