//! Interop with the standard client tools: `dig` (BIND 9) and `kdig` (Knot)
//! against a running anyns, and `anyns check-zone` on the good and broken
//! zones of the corpus.
//!
//! The tools are required: if dig or kdig is missing the tests fail with a
//! message naming the package to install.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::dns::{self, ServerProcess, TEST_NSID};
use crate::support::signing::{Chain, sign_zones};
use crate::support::{anyns_bin, corpus_dir, require_tool};

/// Runs a client tool against `server` with the given arguments.
fn run_tool(tool: &str, server: &ServerProcess, args: &[&str]) -> String {
    let program = require_tool(tool);
    let output = Command::new(&program)
        .arg("@127.0.0.1")
        .arg("-p")
        .arg(server.addr.port().to_string())
        .args(if tool == "kdig" {
            ["+timeout=2", "+retry=0"]
        } else {
            ["+time=2", "+tries=1"]
        })
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("running {}: {err}", program.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{tool} {args:?} failed with {}:\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn dig(server: &ServerProcess, args: &[&str]) -> String {
    run_tool("dig", server, args)
}

/// The header flags dig printed (`;; flags: qr aa rd;`).
fn dig_flags(output: &str) -> Vec<String> {
    let line = output
        .lines()
        .find(|line| line.starts_with(";; flags:"))
        .unwrap_or_else(|| panic!("no flags line in dig output:\n{output}"));
    let flags = line.trim_start_matches(";; flags:");
    let flags = flags.split(';').next().unwrap_or_default();
    flags.split_whitespace().map(str::to_owned).collect()
}

/// The status (`NOERROR`, ...) of each message in dig/kdig output.
fn statuses(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| line.split("status: ").nth(1))
        .map(|rest| {
            rest.split([',', ';'])
                .next()
                .unwrap_or(rest)
                .trim()
                .to_owned()
        })
        .collect()
}

/// The ANSWER count dig printed in the header summary.
fn answer_count(output: &str) -> usize {
    let rest = output
        .split("ANSWER: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no ANSWER count in dig output:\n{output}"));
    rest.split(',').next().unwrap().trim().parse().unwrap()
}

fn start() -> ServerProcess {
    dns::start_subject()
}

#[test]
fn dig_soa_norec_is_authoritative() {
    let server = start();
    let output = dig(&server, &["example.", "SOA", "+norec"]);
    assert_eq!(statuses(&output), ["NOERROR"], "{output}");
    let flags = dig_flags(&output);
    assert!(
        flags.contains(&"aa".to_owned()),
        "flags {flags:?}:\n{output}"
    );
    assert!(
        !flags.contains(&"ra".to_owned()),
        "flags {flags:?}:\n{output}"
    );
    assert!(
        !flags.contains(&"rd".to_owned()),
        "flags {flags:?}:\n{output}"
    );
    let soa = dig(&server, &["example.", "SOA", "+norec", "+short"]);
    assert_eq!(
        soa.trim(),
        "ns1.example. hostmaster.example. 2024010101 7200 3600 1209600 300"
    );
}

#[test]
fn dig_nxdomain_and_refused() {
    let server = start();
    let output = dig(&server, &["no-such-name.example.", "A", "+norec"]);
    assert_eq!(statuses(&output), ["NXDOMAIN"], "{output}");
    assert!(dig_flags(&output).contains(&"aa".to_owned()), "{output}");
    assert!(
        output.contains("example.\t\t300\tIN\tSOA\tns1.example."),
        "negative answer must carry the SOA with TTL min(3600, 300):\n{output}"
    );
    let output = dig(&server, &["www.example.org.", "A", "+norec"]);
    assert_eq!(statuses(&output), ["REFUSED"], "{output}");
}

#[test]
fn dig_nsid_shows_configured_name() {
    let server = start();
    let output = dig(&server, &["example.", "SOA", "+norec", "+nsid"]);
    assert!(
        output.contains(&format!("(\"{TEST_NSID}\")")),
        "dig +nsid did not show NSID {TEST_NSID:?}:\n{output}"
    );
    let output = dig(&server, &["example.", "SOA", "+norec"]);
    assert!(
        !output.contains("NSID"),
        "NSID sent without being asked for:\n{output}"
    );
}

#[test]
fn dig_chaos_identity_queries_give_nsid_name() {
    let server = start();
    for name in ["id.server.", "hostname.bind."] {
        let output = dig(&server, &["CH", "TXT", name, "+norec"]);
        assert_eq!(statuses(&output), ["NOERROR"], "{name}:\n{output}");
        let short = dig(&server, &["CH", "TXT", name, "+norec", "+short"]);
        assert_eq!(short.trim(), format!("\"{TEST_NSID}\""), "{name}");
    }
}

#[test]
fn dig_over_tcp() {
    let server = start();
    let output = dig(&server, &["www.example.", "A", "+norec", "+tcp"]);
    assert_eq!(statuses(&output), ["NOERROR"], "{output}");
    assert!(output.contains("(TCP)"), "dig did not use TCP:\n{output}");
    assert!(
        output.contains("www.example.\t\t3600\tIN\tCNAME\tweb.example."),
        "{output}"
    );
    assert!(
        output.contains("web.example.\t\t300\tIN\tA\t192.0.2.80"),
        "{output}"
    );
}

#[test]
fn kdig_several_queries_on_one_tcp_connection() {
    let server = start();
    let output = run_tool(
        "kdig",
        &server,
        &[
            "+tcp",
            "+keepopen",
            "+norec",
            "example.",
            "SOA",
            "mail.example.",
            "AAAA",
            "nothing.example.",
            "A",
            "sipserver.example.",
            "A",
        ],
    );
    assert_eq!(
        statuses(&output),
        ["NOERROR", "NOERROR", "NXDOMAIN", "NOERROR"],
        "{output}"
    );
    assert!(output.contains("2001:db8::25"), "{output}");
    assert!(output.contains("192.0.2.60"), "{output}");
}

#[test]
fn large_answer_truncates_over_udp_and_completes_over_tcp() {
    let server = start();
    let udp = dig(
        &server,
        &[
            "bigtxt.example.",
            "TXT",
            "+norec",
            "+ignore",
            "+bufsize=1232",
        ],
    );
    assert!(
        dig_flags(&udp).contains(&"tc".to_owned()),
        "60 TXT records must not fit 1232 bytes:\n{udp}"
    );
    assert_eq!(answer_count(&udp), 0, "TC answers carry no records:\n{udp}");
    let udp_plain = dig(
        &server,
        &["biga.example.", "A", "+norec", "+ignore", "+noedns"],
    );
    assert!(
        dig_flags(&udp_plain).contains(&"tc".to_owned()),
        "60 A records must not fit 512 bytes:\n{udp_plain}"
    );
    let fits = dig(
        &server,
        &["biga.example.", "A", "+norec", "+ignore", "+bufsize=1232"],
    );
    assert!(!dig_flags(&fits).contains(&"tc".to_owned()), "{fits}");
    assert_eq!(answer_count(&fits), 60, "{fits}");

    let tcp = dig(&server, &["bigtxt.example.", "TXT", "+norec", "+tcp"]);
    assert!(!dig_flags(&tcp).contains(&"tc".to_owned()), "{tcp}");
    assert_eq!(answer_count(&tcp), 60, "{tcp}");
}

#[test]
fn dig_retries_truncated_answer_over_tcp() {
    let server = start();
    let output = dig(
        &server,
        &["bigtxt.example.", "TXT", "+norec", "+bufsize=1232"],
    );
    assert!(
        output.contains("Truncated, retrying in TCP mode"),
        "dig did not see TC over UDP:\n{output}"
    );
    assert_eq!(answer_count(&output), 60, "{output}");
    for i in 0..60 {
        assert!(
            output.contains(&format!("\"big-txt-record-{i:02} ")),
            "record {i} missing after TCP retry:\n{output}"
        );
    }
}

// ---------------------------------------------------------------------------
// check-zone

fn check_zone(origin: &str, file: &Path) -> Output {
    Command::new(anyns_bin())
        .arg("check-zone")
        .arg("--origin")
        .arg(origin)
        .arg(file)
        .current_dir(file.parent().unwrap())
        .output()
        .expect("run anyns check-zone")
}

#[test]
fn check_zone_accepts_good_corpus() {
    for (origin, file) in dns::CORPUS_ZONES {
        let path = corpus_dir().join(file);
        let output = check_zone(origin, &path);
        assert_eq!(
            output.status.code(),
            Some(0),
            "check-zone rejected {}:\n{}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// ldns-signzone signs for four weeks: check-zone is quiet about it with the default
/// window (7 days) and warns with a window of 60 days, and the zone still loads.
#[test]
fn check_zone_warns_about_signatures_within_the_window() {
    let signed = sign_zones(&[("sig.test.", Chain::Nsec)]);
    let file = signed.file("sig.test.");
    let run = |days: Option<&str>| {
        let mut command = Command::new(anyns_bin());
        command.args(["check-zone", "--origin", "sig.test."]);
        if let Some(days) = days {
            command.args(["--signature-warning-days", days]);
        }
        let output = command.arg(&file).output().expect("run anyns check-zone");
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let quiet = run(None);
    assert!(!quiet.contains("signatures"), "{quiet}");
    let warned = run(Some("60"));
    assert!(warned.contains("expire within 60 days"), "{warned}");
}

/// Lines marked `; FAULT` in a broken zone file.
fn fault_lines(path: &Path) -> Vec<usize> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, line)| line.contains("; FAULT"))
        .map(|(index, _)| index + 1)
        .collect()
}

#[test]
fn check_zone_reports_faults_with_file_and_line() {
    let broken = corpus_dir().join("broken");
    let mut files: Vec<_> = fs::read_dir(&broken)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "broken corpus incomplete: {files:?}");
    let mut failures = Vec::new();
    for path in &files {
        let output = check_zone("example.", path);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if output.status.code() != Some(1) {
            failures.push(format!(
                "{}: exit {:?}, expected 1; stderr:\n{stderr}",
                path.display(),
                output.status.code()
            ));
            continue;
        }
        let prefix = format!("{}:", path.display());
        let reported: Vec<usize> = stderr
            .lines()
            .filter_map(|line| line.strip_prefix(&prefix))
            .filter_map(|rest| {
                let (line, message) = rest.split_once(": ")?;
                (!message.trim().is_empty()).then_some(line.parse().ok()?)
            })
            .collect();
        let expected = fault_lines(path);
        let ok = if expected.is_empty() {
            !reported.is_empty()
        } else {
            reported.iter().any(|line| expected.contains(line))
        };
        if !ok {
            failures.push(format!(
                "{}: expected a `FILE:LINE: message` line with LINE in {expected:?} \
                 (any line if empty), got lines {reported:?}; stderr:\n{stderr}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// TSIG on ordinary queries (RFC 8945 §5.2, §5.3): dig signs with the configured key and
/// verifies the signed answer; a wrong secret gets NOTAUTH with BADSIG and an unknown key
/// NOTAUTH with BADKEY (both unsigned, as §5.3.2 says); an unsigned query is answered as
/// always.
#[test]
fn tsig_signed_queries_get_signed_answers_and_bad_ones_notauth() {
    let dir = crate::support::test_dir();
    let port = crate::support::free_port();
    fs::write(
        dir.path().join("example.zone"),
        "$ORIGIN example.\n$TTL 300\n@ SOA ns1 h 1 1h 15m 1w 5m\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.80\n",
    )
    .unwrap();
    let secret = "cC8xTnNJMnRmWUp5bTRzUzBzN0xRY0g1WDl6R3VkZXY=";
    let config = format!(
        "[[listen]]\naddress = \"127.0.0.1:{port}\"\n\
         [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n\
         [[key]]\nname = \"query-key.\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{secret}\"\n"
    );
    let daemon = crate::support::start_local_anyns(dir.path(), "tsig", &config);
    let dig = |key: Option<&str>| -> String {
        let mut command = Command::new(require_tool("dig"));
        command.args(["@127.0.0.1", "-p", &port.to_string(), "+time=2", "+tries=1"]);
        if let Some(key) = key {
            command.args(["-y", key]);
        }
        let output = command.args(["www.example.", "A"]).output().expect("dig");
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr)
    };
    crate::support::wait_for(
        "anyns to answer",
        std::time::Duration::from_secs(10),
        || dig(None).contains("status: NOERROR").then_some(()),
        || daemon.log(),
    );
    let good = dig(Some(&format!("hmac-sha256:query-key.:{secret}")));
    assert!(
        good.contains("status: NOERROR") && good.contains("192.0.2.80"),
        "{good}"
    );
    assert!(
        good.contains("TSIG PSEUDOSECTION"),
        "a signed answer: {good}"
    );
    assert!(
        !good.contains("verify") && !good.contains("failure"),
        "it verifies: {good}"
    );
    let wrong = "cXVpdGUgYW5vdGhlciBzZWNyZXQgb2YgMzIgb2N0ZXRzIQ==";
    let bad_sig = dig(Some(&format!("hmac-sha256:query-key.:{wrong}")));
    assert!(bad_sig.contains("status: NOTAUTH"), "{bad_sig}");
    assert!(bad_sig.contains("BADSIG"), "{bad_sig}");
    let bad_key = dig(Some(&format!("hmac-sha256:other-key.:{secret}")));
    assert!(bad_key.contains("status: NOTAUTH"), "{bad_key}");
    assert!(bad_key.contains("BADKEY"), "{bad_key}");
}

/// `anyns check-config FILE`: a good configuration is summed up (exit 0); a bad key is named
/// (exit 2); a zone file with an error is reported by FILE:LINE (exit 1); nothing is served.
#[test]
fn check_config_validates_keys_then_zone_files_without_starting() {
    let dir = crate::support::test_dir();
    fs::write(
        dir.path().join("good.zone"),
        "$ORIGIN example.\n$TTL 1h\n@ SOA ns1 h 1 1h 15m 1w 5m\n@ NS ns1\nns1 A 192.0.2.1\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("bad.zone"),
        "$ORIGIN example.\n@ SOA ns1 h 1 1h 15m 1w 5m\n@ NS ns1\nns1 A 192.0.2.1\nx CNAME ns1\nx A 192.0.2.2\n",
    )
    .unwrap();
    let config = |zone_file: &str, extra: &str| {
        let path = dir.path().join("anyns.toml");
        fs::write(
            &path,
            format!(
                "[server]\n{extra}\n[[listen]]\naddress = \"127.0.0.1:53\"\n\
                 [[zone]]\nname = \"example.\"\nfile = \"{zone_file}\"\n"
            ),
        )
        .unwrap();
        Command::new(anyns_bin())
            .arg("check-config")
            .arg(&path)
            .output()
            .expect("anyns check-config")
    };
    let good = config("good.zone", "");
    let stdout = String::from_utf8_lossy(&good.stdout);
    assert_eq!(
        good.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(stdout.contains("ok: 1 listeners, 1 zones"), "{stdout}");
    let bad_key = config("good.zone", "udp-workers = 0");
    let stderr = String::from_utf8_lossy(&bad_key.stderr);
    assert_eq!(bad_key.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("server.udp-workers"), "{stderr}");
    let bad_zone = config("bad.zone", "");
    let stderr = String::from_utf8_lossy(&bad_zone.stderr);
    assert_eq!(bad_zone.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("bad.zone:5") && stderr.contains("CNAME and other data"),
        "{stderr}"
    );
}

/// The deployment mistakes `check-config` names by key, with a hint: an anycast address as
/// a transfer source, a cloud prefix outside `bgp.prefixes`, a metrics endpoint on an
/// anycast address (exit 2); and a health-checked instance this process does not listen on
/// (a warning: right in the split model).
#[test]
fn check_config_names_the_anycast_mistakes() {
    let dir = crate::support::test_dir();
    const LISTEN: &str = "[[listen]]\naddress = \"203.0.113.53:53\"\nrole = \"anycast\"\n\
                          [[listen]]\naddress = \"198.51.100.7:53\"\nrole = \"unicast\"\n";
    const BGP: &str = "[bgp]\nlocal-as = 64600\nrouter-id = \"198.51.100.7\"\n\
                       prefixes = [\"203.0.113.53/32\"]\nnext-hop-v4 = \"198.51.100.7\"\n\
                       [[bgp.peer]]\naddress = \"198.51.100.1\"\nremote-as = 64500\n";
    let check = |text: &str| {
        let path = dir.path().join("anyns.toml");
        fs::write(&path, text).unwrap();
        let out = Command::new(anyns_bin())
            .arg("check-config")
            .arg(&path)
            .output()
            .expect("anyns check-config");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    for (text, key, words) in [
        (
            format!(
                "{LISTEN}[[zone]]\nname = \"example.\"\nprimaries = [\"192.0.2.1\"]\nsource = \"203.0.113.53\"\n"
            ),
            "zone[0].source",
            "is an anycast address",
        ),
        (
            format!(
                "{LISTEN}{BGP}[health]\n[[health.cloud]]\nname = \"ns1\"\nprefixes = [\"198.51.100.0/24\"]\n"
            ),
            "health.cloud[0].prefixes",
            "is not in bgp.prefixes",
        ),
        (
            format!("[server]\nmetrics = \"203.0.113.53:9153\"\n{LISTEN}"),
            "server.metrics",
            "is an anycast address",
        ),
    ] {
        let (code, said) = check(&text);
        assert_eq!(code, Some(2), "{said}");
        assert!(
            said.contains(&format!("{key}: ")) && said.contains(words),
            "{key}: {said}"
        );
    }
    let (code, said) = check(&format!(
        "{LISTEN}{BGP}[health]\n[[health.cloud]]\nname = \"ns1\"\ninstances = [\"198.51.100.99:53\"]\n"
    ));
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("warning: health.cloud[0].instances[0]: 198.51.100.99:53 is not one of this process's listeners"),
        "{said}"
    );
}
