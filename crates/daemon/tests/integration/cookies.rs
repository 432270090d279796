//! DNS cookies on the authoritative side (RFC 7873, RFC 9018) between two sites of one
//! cloud sharing a cookie secret: a server cookie one site made is valid at the other (a
//! client whose route moved is still recognised), which exempts its queries from the rate
//! limit there, while a client cookie alone is limited as any query; a malformed COOKIE
//! option is a format error; dig sees its client cookie echoed ("good").

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::process::Command;
use std::time::Duration;

use crate::support::{free_port, require_tool, start_local_anyns, test_dir, wait_for};

const SECRET: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";

/// A query for `example.` SOA with a COOKIE option of `cookie`.
fn query(id: u16, cookie: &[u8]) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    q.extend_from_slice(b"\x07example\x00\x00\x06\x00\x01");
    q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
    q.extend_from_slice(&((4 + cookie.len()) as u16).to_be_bytes());
    q.extend_from_slice(&10u16.to_be_bytes());
    q.extend_from_slice(&(cookie.len() as u16).to_be_bytes());
    q.extend_from_slice(cookie);
    q
}

/// The COOKIE option of a response (the last option of its OPT, which ends the message).
fn cookie_of(response: &[u8]) -> Option<Vec<u8>> {
    let at = response.windows(4).rposition(|w| w[..2] == [0, 10])?;
    let len = usize::from(u16::from_be_bytes([response[at + 2], response[at + 3]]));
    response.get(at + 4..at + 4 + len).map(<[u8]>::to_vec)
}

/// Sends `count` queries with `cookie` back to back, then counts full answers (NOERROR,
/// TC clear) among the replies that come within a second.
fn full_answers(server: SocketAddr, cookie: &[u8], count: u16) -> usize {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    for id in 0..count {
        socket.send_to(&query(0x100 + id, cookie), server).unwrap();
    }
    let mut full = 0;
    let mut buf = [0u8; 1500];
    while let Ok((n, _)) = socket.recv_from(&mut buf) {
        let reply = &buf[..n];
        if reply[3] & 0x0f == 0 && reply[2] & 0x02 == 0 {
            full += 1;
        }
    }
    full
}

fn site(
    dir: &std::path::Path,
    name: &str,
    port: u16,
    extra: &str,
) -> (crate::support::Daemon, SocketAddr) {
    let address: SocketAddr = ([127, 0, 0, 1], port).into();
    let config = format!(
        "[server]\nidentity = \"{name}\"\nudp-workers = 1\ncookie-secret = \"{SECRET}\"\n{extra}\n\
         [[listen]]\naddress = \"{address}\"\n[[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n"
    );
    (start_local_anyns(dir, name, &config), address)
}

#[test]
fn a_server_cookie_from_one_site_is_valid_at_another_and_lifts_the_rate_limit() {
    let dir = test_dir();
    fs::write(
        dir.path().join("example.zone"),
        "$ORIGIN example.\n$TTL 300\n@ SOA ns1 h 1 1h 15m 1w 5m\n@ NS ns1\nns1 A 192.0.2.1\n",
    )
    .unwrap();
    let (a, site_a) = site(dir.path(), "site-a", free_port(), "");
    // Site b limits every source (loopback included) to 2 answers per second.
    let (b, site_b) = site(
        dir.path(),
        "site-b",
        free_port(),
        "rate-limit = 2\nrate-limit-slip = 0\nrate-limit-exempt = []",
    );
    let client_cookie = [0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57];
    let learned = wait_for(
        "a server cookie from site a",
        Duration::from_secs(10),
        || {
            let socket = UdpSocket::bind("127.0.0.1:0").ok()?;
            socket
                .set_read_timeout(Some(Duration::from_millis(300)))
                .ok()?;
            socket.send_to(&query(7, &client_cookie), site_a).ok()?;
            let mut buf = [0u8; 1500];
            let (n, _) = socket.recv_from(&mut buf).ok()?;
            cookie_of(&buf[..n])
        },
        || a.log(),
    );
    assert_eq!(
        learned.len(),
        24,
        "client and RFC 9018 server cookie: {learned:?}"
    );
    assert_eq!(learned[..8], client_cookie, "our client cookie echoed");
    assert_eq!(learned[8], 1, "RFC 9018 version 1");
    wait_for(
        "site b to answer",
        Duration::from_secs(10),
        || (full_answers(site_b, &learned, 1) == 1).then_some(()),
        || b.log(),
    );
    std::thread::sleep(Duration::from_millis(1100));
    let with_cookie = full_answers(site_b, &learned, 30);
    std::thread::sleep(Duration::from_millis(1100));
    let client_only = full_answers(site_b, &client_cookie, 30);
    eprintln!(
        "FIGURE 30 queries at site b (rate limit 2/s): {with_cookie} answered with site a's server cookie, {client_only} with a client cookie alone"
    );
    assert_eq!(
        with_cookie, 30,
        "a valid server cookie from another site is trusted"
    );
    assert!(
        client_only <= 5,
        "a client cookie alone is limited: {client_only}"
    );

    // A malformed option (5 octets): FORMERR.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    socket.send_to(&query(9, &[1, 2, 3, 4, 5]), site_a).unwrap();
    let mut buf = [0u8; 512];
    let (n, _) = socket.recv_from(&mut buf).unwrap();
    assert_eq!(buf[3] & 0x0f, 1, "FORMERR: {:?}", &buf[..n]);

    // dig's view: its client cookie comes back ("good").
    let output = Command::new(require_tool("dig"))
        .args([
            "@127.0.0.1",
            "-p",
            &site_a.port().to_string(),
            "+cookie",
            "+norec",
            "example.",
            "SOA",
        ])
        .output()
        .expect("dig");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("(good)"), "{text}");
}

/// What a server did with one cookie case: rcode, and (client cookie echoed, server
/// cookie length) when the answer carried a COOKIE option.
fn cookie_case(server: SocketAddr, cookie: Option<&[u8]>) -> (u8, Option<(bool, usize)>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let message = match cookie {
        Some(cookie) => query(0x77, cookie),
        None => {
            // The same query with an OPT and no option.
            let mut q = query(0x77, &[]);
            q.truncate(q.len() - 4);
            let at = q.len() - 2;
            q[at..].copy_from_slice(&[0, 0]);
            q
        }
    };
    socket.send_to(&message, server).unwrap();
    let mut buf = [0u8; 1500];
    let (n, _) = socket.recv_from(&mut buf).expect("an answer");
    let reply = &buf[..n];
    // The extended rcode lives in the OPT TTL; the cases here stay within 4 bits.
    let rcode = reply[3] & 0x0f;
    let option = cookie_of(reply).map(|c| {
        let echoed =
            cookie.is_some_and(|sent| sent.len() >= 8 && c.len() >= 8 && c[..8] == sent[..8]);
        (echoed, c.len().saturating_sub(8))
    });
    (rcode, option)
}

/// RFC 7873 §5.2's cases at anyns, at Knot (mod-cookies) and at BIND 9.18 (answer-cookie,
/// siphash24), each with its own secret: no cookie, a client cookie alone, the server's own
/// cookie sent back, a server cookie the server did not make, an old one, and malformed
/// lengths. anyns answers every case as BIND does; Knot differs in one way only: it
/// answers BADCOOKIE (with a fresh cookie) where the RFC's default is a normal answer with a
/// fresh cookie (§5.2.3 leaves BADCOOKIE to servers that require cookies).
#[test]
fn cookie_cases_are_answered_as_knot_and_bind_answer_them() {
    let _serial = crate::support::serial();
    let dir = test_dir();
    let zone =
        "$ORIGIN example.\n$TTL 300\n@ SOA ns1 h 1 1h 15m 1w 5m\n@ NS ns1\nns1 A 192.0.2.1\n";
    fs::write(dir.path().join("example.zone"), zone).unwrap();
    let (anyns, anyns_address) = site(dir.path(), "anyns", free_port(), "");
    let knot = crate::support::dns::start_knot_with(
        &[("example.", "example.zone")],
        dir.path(),
        "    global-module: mod-cookies\n",
    );
    let bind_dir = dir.path().join("bind");
    fs::create_dir_all(&bind_dir).unwrap();
    fs::write(bind_dir.join("example.zone"), zone).unwrap();
    let bind_port = free_port();
    let d = bind_dir.display();
    let bind = crate::support::start_named(
        &bind_dir,
        &format!(
            "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; recursion no;\n\
             listen-on port {bind_port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};\n\
             dnssec-validation no; answer-cookie yes; cookie-algorithm siphash24; }};\n\
             zone \"example.\" {{ type primary; file \"{d}/example.zone\"; }};\n"
        ),
    );
    let bind_address: SocketAddr = ([127, 0, 0, 1], bind_port).into();
    for (address, what) in [(anyns_address, anyns.log()), (bind_address, bind.log())] {
        wait_for(
            "a server",
            Duration::from_secs(15),
            || crate::support::dns::Query::new("example.", 6).send_udp(address),
            || what.clone(),
        );
    }
    let client = *b"\x01\x02\x03\x04\x05\x06\x07\x08";
    let mut rows = Vec::new();
    for (name, server) in [
        ("anyns", anyns_address),
        ("knot", knot.addr),
        ("bind", bind_address),
    ] {
        // The server's own cookie, as a client gets it with its first query.
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        socket.send_to(&query(0x55, &client), server).unwrap();
        let mut buf = [0u8; 1500];
        let (n, _) = socket.recv_from(&mut buf).expect("an answer");
        let own = cookie_of(&buf[..n]).expect("a server cookie");
        let mut foreign = own.clone();
        let last = foreign.len() - 1;
        foreign[last] ^= 0xff; // the same shape, a hash the server did not make
        let mut old = own.clone();
        old[12..16].copy_from_slice(&1_000_000u32.to_be_bytes()); // a timestamp of 1970
        let cases: Vec<(&str, Option<Vec<u8>>)> = vec![
            ("none", None),
            ("client only", Some(client.to_vec())),
            ("own server cookie", Some(own.clone())),
            ("foreign server cookie", Some(foreign)),
            ("old server cookie", Some(old)),
            ("7 octets", Some(vec![1; 7])),
            ("9 octets", Some(vec![1; 9])),
            ("41 octets", Some(vec![1; 41])),
        ];
        let results: Vec<(u8, Option<(bool, usize)>)> = cases
            .iter()
            .map(|(_, cookie)| cookie_case(server, cookie.as_deref()))
            .collect();
        rows.push((name, cases.iter().map(|c| c.0).collect::<Vec<_>>(), results));
    }
    for (i, case) in rows[0].1.iter().enumerate() {
        let verdicts: Vec<String> = rows
            .iter()
            .map(|(name, _, results)| format!("{name} {:?}", results[i]))
            .collect();
        eprintln!("{case:22} {}", verdicts.join("  "));
    }
    let (anyns_results, knot_results, bind_results) = (&rows[0].2, &rows[1].2, &rows[2].2);
    assert_eq!(anyns_results, bind_results, "anyns and BIND");
    let knot_without_badcookie: Vec<_> = knot_results
        .iter()
        .map(|&(rcode, option)| (if rcode == 7 { 0 } else { rcode }, option))
        .collect();
    assert_eq!(
        anyns_results, &knot_without_badcookie,
        "anyns and Knot, BADCOOKIE aside"
    );
    // And what the RFC says, so agreement is not agreement on a mistake.
    assert_eq!(anyns_results[0], (0, None), "no cookie: none back");
    for (case, result) in anyns_results.iter().enumerate().skip(1) {
        if case < 5 {
            assert_eq!(
                *result,
                (0, Some((true, 16))),
                "case {case}: a fresh server cookie"
            );
        } else {
            assert_eq!(result.0, 1, "case {case}: FORMERR");
        }
    }
}
