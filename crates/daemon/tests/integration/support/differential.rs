//! The rig of the differential tests against Unbound: a network namespace of its own (as
//! root) where anyns authoritative servers answer on port 53 of addresses given to its
//! loopback, and anyns's resolver (127.0.0.1) and Unbound (127.0.0.10) resolve the same
//! corpus from the same root hints (and trust anchor, when validating). The queries run
//! in the namespace with `dig -f` (one process per resolver), so both see the same client.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use tempfile::TempDir;

use super::bgp::LoopbackNetns;
use super::{Daemon, anyns_bin, require_tool, test_dir, wait_for};

/// One answer as dig printed it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: String,
    pub(crate) ad: bool,
    /// "owner type rdata", lowercased, TTL left out, sorted.
    pub(crate) records: BTreeSet<String>,
}

/// The namespace, the daemons in it and their files.
pub(crate) struct Rig {
    // Fields drop in order: the daemons stop before the namespace goes.
    daemons: Vec<Daemon>,
    ns: LoopbackNetns,
    dir: TempDir,
}

impl Rig {
    /// An empty namespace named after `tag`.
    pub(crate) fn new(tag: &str) -> Self {
        Self {
            daemons: Vec::new(),
            ns: LoopbackNetns::new(tag),
            dir: test_dir(),
        }
    }

    /// A file in the rig's directory.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Gives the namespace's loopback `address` (/32) besides 127.0.0.0/8.
    pub(crate) fn add_address(&self, address: &str) {
        let ok = self
            .ns
            .command(&require_tool("ip"))
            .args(["addr", "add", &format!("{address}/32"), "dev", "lo"])
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "ip addr add {address}");
    }

    /// Starts an anyns authoritative server on `address` port 53 with `zones` (origin,
    /// zone text).
    pub(crate) fn serve(&mut self, tag: &str, address: &str, zones: &[(&str, String)]) {
        let mut command = self.ns.command(&anyns_bin());
        command
            .arg("serve")
            .args(["--listen", &format!("{address}:53"), "--udp-workers", "1"]);
        for (origin, text) in zones {
            let file = self.path(&format!("{tag}-{}zone", origin.replace('.', "_")));
            fs::write(&file, text).expect("zone");
            command
                .arg("--zone")
                .arg(format!("{origin}={}", file.display()));
        }
        let log = self.path(&format!("{tag}.log"));
        self.daemons.push(Daemon::spawn(tag, command, log));
    }

    /// Starts anyns's resolver on 127.0.0.1 and Unbound on 127.0.0.10 with root hints
    /// `hints`, validating from `anchor` (DS or DNSKEY records) when given, and waits
    /// until both answer `probe` (a name, type A) with NOERROR.
    pub(crate) fn start_resolvers(&mut self, hints: &str, anchor: Option<&str>, probe: &str) {
        let hints_file = self.path("root.hints");
        fs::write(&hints_file, hints).expect("hints");
        let anchor_file = anchor.map(|text| {
            let file = self.path("root.key");
            fs::write(&file, text).expect("anchor");
            file
        });
        let mut anyns = format!(
            "[server]\nudp-workers = 1\n[[listen]]\naddress = \"127.0.0.1:53\"\nrole = \"unicast\"\nservice = \"resolver\"\n[resolver]\nhints = \"{}\"\n",
            hints_file.display()
        );
        if let Some(file) = &anchor_file {
            let _ = writeln!(anyns, "trust-anchor-file = \"{}\"", file.display());
        }
        let config = self.path("resolver.toml");
        fs::write(&config, anyns).expect("resolver config");
        let mut command = self.ns.command(&anyns_bin());
        command.arg("serve").arg("-c").arg(&config);
        let log = self.path("resolver.log");
        self.daemons.push(Daemon::spawn("resolver", command, log));

        let (modules, anchor_line) = match &anchor_file {
            Some(file) => (
                "validator iterator",
                format!("    trust-anchor-file: \"{}\"\n", file.display()),
            ),
            None => ("iterator", String::new()),
        };
        let unbound = format!(
            "server:\n    interface: 127.0.0.10\n    port: 53\n    num-threads: 1\n    username: \"\"\n    chroot: \"\"\n    directory: \"{dir}\"\n    pidfile: \"{dir}/unbound.pid\"\n    do-daemonize: no\n    use-syslog: no\n    verbosity: 1\n    access-control: 127.0.0.0/8 allow\n    do-not-query-localhost: no\n    module-config: \"{modules}\"\n{anchor_line}    root-hints: \"{hints}\"\n    qname-minimisation: yes\n    minimal-responses: yes\n    local-zone: \"test.\" nodefault\nremote-control:\n    control-enable: no\n",
            dir = self.dir.path().display(),
            hints = hints_file.display()
        );
        let config = self.path("unbound.conf");
        fs::write(&config, unbound).expect("unbound config");
        let mut command = self.ns.command(&require_tool("unbound"));
        command.arg("-d").arg("-c").arg(&config);
        let log = self.path("unbound.out");
        self.daemons.push(Daemon::spawn("unbound", command, log));
        for server in ["127.0.0.1", "127.0.0.10"] {
            wait_for(
                &format!("the resolver at {server}"),
                Duration::from_secs(20),
                || {
                    let got = self.ask(server, &[(probe.to_string(), "A")]);
                    got.first()
                        .filter(|(_, a)| a.status == "NOERROR")
                        .map(|_| ())
                },
                || self.logs(),
            );
        }
    }

    /// Every daemon's log.
    pub(crate) fn logs(&self) -> String {
        self.daemons
            .iter()
            .map(Daemon::log)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Asks `server` each (name, type) of `batch` with one `dig -f`.
    pub(crate) fn ask(&self, server: &str, batch: &[(String, &str)]) -> Vec<(String, Answer)> {
        let file = self.path(&format!("queries-{server}"));
        let mut text = String::new();
        for (name, qtype) in batch {
            let _ = writeln!(text, "@{server} {name} {qtype}");
        }
        fs::write(&file, text).expect("query file");
        let output = self
            .ns
            .command(&require_tool("dig"))
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
    }

    /// Asks both resolvers the corpus and asserts every answer matches (response code,
    /// answer RRsets, AD); prints the count of matches under `what`.
    pub(crate) fn assert_resolvers_agree(&self, what: &str, corpus: &[(String, &str)]) {
        assert!(corpus.len() >= 80, "{} names", corpus.len());
        let ours = self.ask("127.0.0.1", corpus);
        let theirs = self.ask("127.0.0.10", corpus);
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
            "{what}: resolver vs Unbound: {matches} of {} names match",
            corpus.len()
        );
        assert_eq!(matches, corpus.len(), "differences:\n{differences}");
    }
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
            section = match header {
                "QUESTION" => "question",
                "ANSWER" => "answer",
                _ => "",
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
