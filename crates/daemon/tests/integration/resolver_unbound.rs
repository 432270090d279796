//! Differential test of the resolver against Unbound: in a network namespace of its own (as
//! root), a tree of anyns authoritative servers answers on 127.0.0.2-7 port 53 (the root,
//! `test.`, `example.test.` twice, `other.` with `glueless.test.`, `sub.example.test.`),
//! and anyns's resolver and Unbound (iterator only, no validation) resolve the same corpus
//! of names from the same root hints. Every name must get the same response code, the same
//! answer RRsets (TTLs aside) and the same AD bit; the test prints the count of matches.
//!
//! The queries run in the namespace with `dig -f` (one process per resolver).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::time::Duration;

use crate::support::bgp::{LoopbackNetns, is_root};
use crate::support::tree::{EXAMPLE_AND_GLUELESS, HINTS, ROOT, test_zone};
use crate::support::{Daemon, anyns_bin, require_tool, test_dir, wait_for};

fn example() -> String {
    let mut z = String::from(
        "\
example.test. 3600 IN SOA ns1.example.test. admin.example.test. 1 1800 900 604800 60
example.test. 3600 IN NS ns1.example.test.
example.test. 3600 IN NS ns2.example.test.
ns1.example.test. 3600 IN A 127.0.0.4
ns2.example.test. 3600 IN A 127.0.0.5
sub.example.test. 3600 IN NS ns.sub.example.test.
ns.sub.example.test. 3600 IN A 127.0.0.7
*.w.example.test. 300 IN A 192.0.2.99
d.example.test. 300 IN DNAME other.
a.b.c.example.test. 300 IN A 192.0.2.98
",
    );
    for i in 0..80 {
        let _ = writeln!(z, "h{i}.example.test. 300 IN A 192.0.2.{}", i + 1);
    }
    for i in 0..20 {
        let _ = writeln!(z, "h{i}.example.test. 300 IN AAAA 2001:db8::{:x}", i + 1);
    }
    for i in 0..10 {
        let _ = writeln!(z, "mx{i}.example.test. 300 IN MX 10 h{i}.example.test.");
        let _ = writeln!(z, "t{i}.example.test. 300 IN TXT \"text {i}\"");
        let _ = writeln!(z, "c{i}.example.test. 300 IN CNAME h{i}.example.test.");
        let _ = writeln!(
            z,
            "x{i}.example.test. 300 IN CNAME g{}.glueless.test.",
            i % 5
        );
    }
    for i in 0..5 {
        let _ = writeln!(z, "cc{i}.example.test. 300 IN CNAME c{i}.example.test.");
    }
    z
}

fn sub() -> String {
    let mut z = String::from(
        "\
sub.example.test. 3600 IN SOA ns.sub.example.test. admin.example.test. 1 1800 900 604800 60
sub.example.test. 3600 IN NS ns.sub.example.test.
ns.sub.example.test. 3600 IN A 127.0.0.7
",
    );
    for i in 0..10 {
        let _ = writeln!(z, "s{i}.sub.example.test. 300 IN A 198.51.100.{}", i + 1);
    }
    z
}

fn other() -> String {
    let mut z = String::from(
        "\
other. 3600 IN SOA ns.other. admin.other. 1 1800 900 604800 60
other. 3600 IN NS ns.other.
ns.other. 3600 IN A 127.0.0.6
",
    );
    for i in 0..5 {
        let _ = writeln!(z, "y{i}.other. 300 IN A 203.0.113.{}", i + 1);
    }
    z
}

fn glueless() -> String {
    let mut z = String::from(
        "\
glueless.test. 3600 IN SOA ns.other. admin.other. 1 1800 900 604800 60
glueless.test. 3600 IN NS ns.other.
",
    );
    for i in 0..5 {
        let _ = writeln!(z, "g{i}.glueless.test. 300 IN A 203.0.113.{}", i + 100);
    }
    z
}

/// The corpus: (name, type), positive, NODATA, NXDOMAIN, CNAME chains (in zone, across
/// zones to a glueless delegation), DNAME, wildcard, empty non-terminals, a deeper
/// delegation, names under a TLD that does not exist.
fn corpus() -> Vec<(String, &'static str)> {
    let mut q = Vec::new();
    for i in 0..80 {
        q.push((format!("h{i}.example.test."), "A"));
    }
    for i in 0..30 {
        q.push((format!("h{i}.example.test."), "AAAA"));
        q.push((format!("nx{i}.example.test."), "A"));
    }
    for i in 0..10 {
        q.push((format!("mx{i}.example.test."), "MX"));
        q.push((format!("t{i}.example.test."), "TXT"));
        q.push((format!("c{i}.example.test."), "A"));
        q.push((format!("x{i}.example.test."), "A"));
        q.push((format!("q{i}.w.example.test."), "A"));
        q.push((format!("s{i}.sub.example.test."), "A"));
    }
    for i in 0..5 {
        q.push((format!("cc{i}.example.test."), "A"));
        q.push((format!("y{i}.d.example.test."), "A"));
        q.push((format!("g{i}.glueless.test."), "A"));
        q.push((format!("y{i}.other."), "A"));
    }
    for (name, qtype) in [
        ("nope.d.example.test.", "A"),
        ("nosuch.sub.example.test.", "A"),
        ("b.c.example.test.", "A"),
        ("c.example.test.", "TXT"),
        ("a.b.c.example.test.", "A"),
        ("nothing.nope.", "A"),
        ("more.nothing.nope.", "AAAA"),
        ("nope.", "NS"),
        ("example.test.", "NS"),
        ("example.test.", "SOA"),
        ("test.", "SOA"),
        ("sub.example.test.", "SOA"),
        ("h1.example.test.", "MX"),
    ] {
        q.push((name.to_string(), qtype));
    }
    q
}

/// An authoritative server of the tree: its tag, the last octet of 127.0.0.x, its zones.
type Server = (&'static str, u8, Vec<(&'static str, String)>);

/// One answer as dig printed it.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: String,
    ad: bool,
    /// "owner type rdata", lowercased, TTL left out, sorted.
    records: BTreeSet<String>,
}

/// Splits `dig +noall +comments +question +answer` output into answers keyed by question.
fn parse_dig(output: &str) -> Vec<(String, Answer)> {
    let mut answers = Vec::new();
    let mut current: Option<(String, Answer)> = None;
    let mut status = String::new();
    let mut ad = false;
    let mut section = "";
    for line in output.lines() {
        if let Some(rest) = line.split("status: ").nth(1) {
            answers.extend(current.take());
            status = rest.split(',').next().unwrap_or_default().to_string();
            ad = false;
            section = "";
        } else if line.starts_with(";; flags:") {
            let flags = line.split(';').nth(2).unwrap_or_default();
            ad = flags.split_whitespace().any(|f| f == "ad");
        } else if let Some(header) = line
            .strip_prefix(";; ")
            .and_then(|l| l.strip_suffix(" SECTION:"))
        {
            section = if header == "QUESTION" {
                "question"
            } else if header == "ANSWER" {
                "answer"
            } else {
                ""
            };
        } else if section == "question" {
            let mut parts = line.trim_start_matches(';').split_whitespace();
            if let (Some(name), Some(_class), Some(qtype)) =
                (parts.next(), parts.next(), parts.next())
            {
                current = Some((
                    format!("{} {qtype}", name.to_ascii_lowercase()),
                    Answer {
                        status: status.clone(),
                        ad,
                        records: BTreeSet::new(),
                    },
                ));
            }
        } else if section == "answer" && !line.starts_with(';') {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if let (true, Some((_, answer))) = (fields.len() >= 5, &mut current) {
                answer.records.insert(
                    format!("{} {} {}", fields[0], fields[3], fields[4..].join(" "))
                        .to_ascii_lowercase(),
                );
            }
        }
    }
    answers.extend(current);
    answers
}

#[test]
fn resolver_answers_match_unbound_on_a_corpus_of_names() {
    if !is_root("resolver_answers_match_unbound_on_a_corpus_of_names") {
        return;
    }
    let unbound_bin = require_tool("unbound");
    let dig = require_tool("dig");
    let dir = test_dir();
    let ns = LoopbackNetns::new("rdiff");
    let mut daemons = Vec::new();
    let servers: [Server; 6] = [
        ("root", 2, vec![(".", ROOT.into())]),
        ("tld", 3, vec![("test.", test_zone(EXAMPLE_AND_GLUELESS))]),
        ("leaf1", 4, vec![("example.test.", example())]),
        ("leaf2", 5, vec![("example.test.", example())]),
        (
            "other",
            6,
            vec![("other.", other()), ("glueless.test.", glueless())],
        ),
        ("sub", 7, vec![("sub.example.test.", sub())]),
    ];
    for (tag, last, zones) in servers {
        let mut command = ns.command(&anyns_bin());
        command.arg("serve").args([
            "--listen",
            &format!("127.0.0.{last}:53"),
            "--udp-workers",
            "1",
        ]);
        for (origin, text) in zones {
            let file = dir
                .path()
                .join(format!("{tag}-{}.zone", origin.replace('.', "_")));
            fs::write(&file, text).expect("zone");
            command
                .arg("--zone")
                .arg(format!("{origin}={}", file.display()));
        }
        daemons.push(Daemon::spawn(
            tag,
            command,
            dir.path().join(format!("{tag}.log")),
        ));
    }
    let hints = dir.path().join("root.hints");
    fs::write(&hints, HINTS).expect("hints");
    let anyns_config = dir.path().join("resolver.toml");
    fs::write(
        &anyns_config,
        format!(
            "[server]\nudp-workers = 1\n[[listen]]\naddress = \"127.0.0.1:53\"\nrole = \"unicast\"\nservice = \"resolver\"\n[resolver]\nhints = \"{}\"\n",
            hints.display()
        ),
    )
    .expect("resolver config");
    let mut command = ns.command(&anyns_bin());
    command.arg("serve").arg("-c").arg(&anyns_config);
    daemons.push(Daemon::spawn(
        "resolver",
        command,
        dir.path().join("resolver.log"),
    ));
    let unbound_config = dir.path().join("unbound.conf");
    fs::write(
        &unbound_config,
        format!(
            "server:\n    interface: 127.0.0.10\n    port: 53\n    num-threads: 1\n    username: \"\"\n    chroot: \"\"\n    directory: \"{dir}\"\n    pidfile: \"{dir}/unbound.pid\"\n    do-daemonize: no\n    use-syslog: no\n    verbosity: 1\n    access-control: 127.0.0.0/8 allow\n    do-not-query-localhost: no\n    module-config: \"iterator\"\n    root-hints: \"{hints}\"\n    qname-minimisation: yes\n    minimal-responses: yes\n    local-zone: \"test.\" nodefault\nremote-control:\n    control-enable: no\n",
            dir = dir.path().display(),
            hints = hints.display()
        ),
    )
    .expect("unbound config");
    let mut command = ns.command(&unbound_bin);
    command.arg("-d").arg("-c").arg(&unbound_config);
    daemons.push(Daemon::spawn(
        "unbound",
        command,
        dir.path().join("unbound.out"),
    ));

    let ask = |server: &str, batch: &[(String, &str)]| -> Vec<(String, Answer)> {
        let file = dir.path().join(format!("queries-{server}"));
        let mut text = String::new();
        for (name, qtype) in batch {
            let _ = writeln!(text, "@{server} {name} {qtype}");
        }
        fs::write(&file, text).expect("query file");
        let output = ns
            .command(&dig)
            .args([
                "+noall",
                "+comments",
                "+question",
                "+answer",
                "+tries=2",
                "+time=3",
                "-f",
            ])
            .arg(&file)
            .output()
            .expect("dig");
        parse_dig(&String::from_utf8_lossy(&output.stdout))
    };
    for server in ["127.0.0.1", "127.0.0.10"] {
        wait_for(
            &format!("the resolver at {server}"),
            Duration::from_secs(20),
            || {
                let got = ask(server, &[("h0.example.test.".into(), "A")]);
                got.first()
                    .filter(|(_, a)| a.status == "NOERROR")
                    .map(|_| ())
            },
            || {
                daemons
                    .iter()
                    .map(Daemon::log)
                    .collect::<Vec<_>>()
                    .join("\n")
            },
        );
    }
    let corpus = corpus();
    assert!(corpus.len() >= 200, "{} names", corpus.len());
    let ours = ask("127.0.0.1", &corpus);
    let theirs = ask("127.0.0.10", &corpus);
    assert_eq!(
        ours.len(),
        corpus.len(),
        "anyns answered {} of {}",
        ours.len(),
        corpus.len()
    );
    assert_eq!(
        theirs.len(),
        corpus.len(),
        "Unbound answered {} of {}",
        theirs.len(),
        corpus.len()
    );
    let mut matches = 0;
    let mut differences = String::new();
    for ((question, mine), (_, unbound)) in ours.iter().zip(&theirs) {
        if mine == unbound {
            matches += 1;
        } else {
            let _ = writeln!(
                differences,
                "{question}:\n  anyns   {mine:?}\n  unbound {unbound:?}"
            );
        }
    }
    eprintln!(
        "resolver vs Unbound: {matches} of {} names match",
        corpus.len()
    );
    assert_eq!(matches, corpus.len(), "differences:\n{differences}");
}
