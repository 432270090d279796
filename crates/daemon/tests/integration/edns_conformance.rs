//! RFC 8906 §8 (and ISC's EDNS compliance tester, which it describes): one check per
//! test of the RFC, run with dig against an anycast-role and a unicast-role listener of
//! one anyns, and against Knot serving the same zone. Each check's expectation is the
//! RFC's; the test prints every server's verdict per check and requires anyns to pass
//! them all on both listeners, and Knot too (so an expectation that Knot fails is
//! suspect, not anyns).

use std::fmt::Write as _;
use std::fs;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use crate::support::dns::start_knot_from;
use crate::support::{free_port, require_tool, start_local_anyns, test_dir, wait_for};

/// The zone: an SOA, and a TXT RRset too large for 512 octets.
fn zone() -> String {
    let mut z = String::from(
        "$ORIGIN example.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 604800 300\n@ NS ns1\nns1 A 192.0.2.1\n",
    );
    for i in 0..12 {
        let _ = writeln!(z, "big TXT \"{i:02}{}\"", "x".repeat(100));
    }
    z
}

/// What dig printed, reduced to what the checks look at.
#[derive(Debug, Default)]
struct Dig {
    opcode: String,
    status: String,
    flags: Vec<String>,
    /// `; EDNS: version: N, flags: ...;` when an OPT came back: (version, flags).
    edns: Option<(u8, Vec<String>)>,
    /// Lines of the OPT pseudosection after the EDNS line (`; NSID: ...`, `; OPT=100: ...`).
    options: Vec<String>,
    answers: usize,
}

fn run_dig(server: SocketAddr, args: &[&str]) -> Dig {
    let mut command = Command::new(require_tool("dig"));
    command
        .arg(format!("@{}", server.ip()))
        .args(["-p", &server.port().to_string(), "+time=2", "+tries=1"])
        .args(args);
    let output = command.output().expect("dig");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut dig = Dig::default();
    let mut in_opt = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(";; ->>HEADER<<- opcode: ") {
            dig.opcode = rest.split(',').next().unwrap_or_default().to_string();
            dig.status = rest
                .split("status: ")
                .nth(1)
                .and_then(|s| s.split(',').next())
                .unwrap_or_default()
                .to_string();
        } else if let Some(rest) = line.strip_prefix(";; flags:") {
            let flags = rest.split(';').next().unwrap_or_default();
            dig.flags = flags.split_whitespace().map(str::to_owned).collect();
            dig.answers = rest
                .split("ANSWER: ")
                .nth(1)
                .and_then(|s| s.split(',').next())
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0);
        } else if let Some(rest) = line.strip_prefix("; EDNS: version: ") {
            let version = rest
                .split(',')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(255);
            let flags = rest
                .split("flags:")
                .nth(1)
                .and_then(|f| f.split(';').next())
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            dig.edns = Some((version, flags));
            in_opt = true;
        } else if in_opt && line.starts_with("; ") {
            dig.options.push(line.to_string());
        } else {
            in_opt = false;
        }
    }
    dig
}

/// One check: the dig arguments and the RFC's expectation.
struct Check {
    name: &'static str,
    args: &'static [&'static str],
    expect: fn(&Dig) -> Result<(), String>,
}

fn status(d: &Dig, want: &str) -> Result<(), String> {
    (d.status == want)
        .then_some(())
        .ok_or_else(|| format!("status {} (want {want})", d.status))
}

fn opt_v0(d: &Dig) -> Result<(), String> {
    match &d.edns {
        Some((0, _)) => Ok(()),
        Some((v, _)) => Err(format!("OPT version {v}")),
        None => Err("no OPT".into()),
    }
}

fn no_opt(d: &Dig) -> Result<(), String> {
    d.edns
        .is_none()
        .then_some(())
        .ok_or_else(|| "an OPT".into())
}

fn soa_answer(d: &Dig) -> Result<(), String> {
    status(d, "NOERROR")?;
    (d.answers == 1 && d.flags.iter().any(|f| f == "aa"))
        .then_some(())
        .ok_or_else(|| format!("answers {} flags {:?}", d.answers, d.flags))
}

fn no_unknown_echo(d: &Dig) -> Result<(), String> {
    match d
        .options
        .iter()
        .find(|o| o.contains("OPT=100") || o.contains("MBZ"))
    {
        Some(o) => Err(format!("echoed {o:?}")),
        None => Ok(()),
    }
}

const CHECKS: &[Check] = &[
    Check {
        name: "8.1.1 plain DNS",
        args: &["+norec", "+noedns", "example.", "SOA"],
        expect: |d| soa_answer(d).and_then(|()| no_opt(d)),
    },
    Check {
        name: "8.1.2 unknown type",
        args: &["+norec", "+noedns", "example.", "TYPE1000"],
        expect: |d| status(d, "NOERROR").and_then(|()| no_opt(d)),
    },
    Check {
        name: "8.1.3 unknown opcode",
        args: &["+norec", "+noedns", "+header-only", "+opcode=15"],
        expect: |d| status(d, "NOTIMP").and_then(|()| no_opt(d)),
    },
    Check {
        name: "8.2.1 minimal EDNS",
        args: &["+norec", "+edns=0", "example.", "SOA"],
        expect: |d| soa_answer(d).and_then(|()| opt_v0(d)),
    },
    Check {
        name: "8.2.2 EDNS version 1",
        args: &["+norec", "+edns=1", "+noednsneg", "example.", "SOA"],
        expect: |d| status(d, "BADVERS").and_then(|()| opt_v0(d)),
    },
    Check {
        name: "8.2.3 unknown option",
        args: &["+norec", "+edns=0", "+ednsopt=100", "example.", "SOA"],
        expect: |d| {
            soa_answer(d)
                .and_then(|()| opt_v0(d))
                .and_then(|()| no_unknown_echo(d))
        },
    },
    Check {
        name: "8.2.4 unknown flag",
        args: &["+norec", "+edns=0", "+ednsflags=0x80", "example.", "SOA"],
        expect: |d| {
            soa_answer(d)
                .and_then(|()| opt_v0(d))
                .and_then(|()| no_unknown_echo(d))
        },
    },
    Check {
        name: "8.2.5 version 1 + unknown flag",
        args: &[
            "+norec",
            "+edns=1",
            "+noednsneg",
            "+ednsflags=0x80",
            "example.",
            "SOA",
        ],
        expect: |d| {
            status(d, "BADVERS")
                .and_then(|()| opt_v0(d))
                .and_then(|()| no_unknown_echo(d))
        },
    },
    Check {
        name: "8.2.6 version 1 + unknown option",
        args: &[
            "+norec",
            "+edns=1",
            "+noednsneg",
            "+ednsopt=100",
            "example.",
            "SOA",
        ],
        expect: |d| {
            status(d, "BADVERS")
                .and_then(|()| opt_v0(d))
                .and_then(|()| no_unknown_echo(d))
        },
    },
    Check {
        name: "8.2.7 truncated at 512",
        args: &[
            "+norec",
            "+edns=0",
            "+dnssec",
            "+bufsize=512",
            "+ignore",
            "big.example.",
            "TXT",
        ],
        expect: |d| {
            status(d, "NOERROR")?;
            opt_v0(d)?;
            d.flags
                .iter()
                .any(|f| f == "tc")
                .then_some(())
                .ok_or_else(|| format!("no TC: {:?}", d.flags))
        },
    },
    Check {
        name: "8.2.8 DO=1",
        args: &["+norec", "+edns=0", "+dnssec", "example.", "SOA"],
        expect: |d| {
            soa_answer(d)?;
            match &d.edns {
                Some((0, flags)) if flags.iter().any(|f| f == "do") => Ok(()),
                other => Err(format!("DO not echoed: {other:?}")),
            }
        },
    },
    Check {
        name: "8.2.9 version 1 + DO=1",
        args: &[
            "+norec",
            "+edns=1",
            "+noednsneg",
            "+dnssec",
            "example.",
            "SOA",
        ],
        expect: |d| status(d, "BADVERS").and_then(|()| opt_v0(d)),
    },
    Check {
        name: "8.2.10 several options",
        args: &[
            "+norec",
            "+edns=0",
            "+nsid",
            "+expire",
            "+cookie",
            "+subnet=0.0.0.0/0",
            "example.",
            "SOA",
        ],
        expect: |d| soa_answer(d).and_then(|()| opt_v0(d)),
    },
    Check {
        name: "EDNS over TCP",
        args: &["+norec", "+edns=0", "+tcp", "example.", "SOA"],
        expect: |d| soa_answer(d).and_then(|()| opt_v0(d)),
    },
    Check {
        name: "unknown opcode with EDNS",
        args: &["+norec", "+edns=0", "+header-only", "+opcode=15"],
        expect: |d| status(d, "NOTIMP").and_then(|()| opt_v0(d)),
    },
    Check {
        name: "EDNS padding",
        args: &["+norec", "+edns=0", "+padding=128", "example.", "SOA"],
        expect: |d| soa_answer(d).and_then(|()| opt_v0(d)),
    },
];

#[test]
fn rfc_8906_edns_checks_pass_on_anycast_and_unicast_listeners_and_on_knot() {
    let dir = test_dir();
    fs::write(dir.path().join("example.zone"), zone()).expect("zone");
    let port = free_port();
    let anycast: SocketAddr = ([127, 0, 0, 53], port).into();
    let unicast: SocketAddr = ([127, 0, 0, 1], port).into();
    let config = format!(
        "[server]\nidentity = \"edns-test\"\nudp-workers = 1\n\
         [[listen]]\naddress = \"{anycast}\"\nrole = \"anycast\"\n\
         [[listen]]\naddress = \"{unicast}\"\nrole = \"unicast\"\n\
         [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n"
    );
    let anyns = start_local_anyns(dir.path(), "edns", &config);
    wait_for(
        "anyns to answer",
        Duration::from_secs(10),
        || (run_dig(unicast, &["example.", "SOA"]).status == "NOERROR").then_some(()),
        || anyns.log(),
    );
    let knot = start_knot_from(&[("example.", "example.zone")], dir.path());
    let servers = [
        ("anyns anycast", anycast),
        ("anyns unicast", unicast),
        ("knot", knot.addr),
    ];
    let mut table = String::new();
    let mut failures = Vec::new();
    for check in CHECKS {
        let _ = write!(table, "{:<34}", check.name);
        for (name, server) in servers {
            let dig = run_dig(server, check.args);
            match (check.expect)(&dig) {
                Ok(()) => {
                    let _ = write!(table, " {:<14}", "ok");
                }
                Err(why) => {
                    let _ = write!(table, " {:<14}", "FAIL");
                    failures.push(format!("{}: {name}: {why}", check.name));
                }
            }
        }
        table.push('\n');
    }
    eprintln!(
        "RFC 8906 checks ({} per server)\n{:<34} {:<14} {:<14} {:<14}\n{table}",
        CHECKS.len(),
        "check",
        servers[0].0,
        servers[1].0,
        servers[2].0
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The EXPIRE value of an answer (dig prints `; EXPIRE: 604800 (1 week)`).
fn expire_of(dig: &Dig) -> Option<u32> {
    dig.options
        .iter()
        .find_map(|o| o.strip_prefix("; EXPIRE: "))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// EDNS EXPIRE (RFC 7314): asked with an SOA query, a primary answers its SOA EXPIRE (as
/// Knot does), a secondary the time it has left (below the SOA's, above zero); not asked,
/// or asked with another type, no option.
#[test]
fn test_7314_expire_from_a_primary_and_a_secondary() {
    let dir = test_dir();
    fs::write(dir.path().join("example.zone"), zone()).expect("zone");
    let (primary_port, secondary_port) = (free_port(), free_port());
    let primary: SocketAddr = ([127, 0, 0, 1], primary_port).into();
    let anyns = start_local_anyns(
        dir.path(),
        "primary",
        &format!(
            "[server]\nudp-workers = 1\n[[listen]]\naddress = \"{primary}\"\nrole = \"unicast\"\n\
             [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\nallow-transfer = [\"127.0.0.0/8\"]\n"
        ),
    );
    let secondary_dir = dir.path().join("secondary");
    fs::create_dir_all(secondary_dir.join("storage")).unwrap();
    let secondary: SocketAddr = ([127, 0, 0, 1], secondary_port).into();
    let second = start_local_anyns(
        &secondary_dir,
        "secondary",
        &format!(
            "[server]\nudp-workers = 1\nstorage = \"storage\"\n\
             [[listen]]\naddress = \"{secondary}\"\nrole = \"unicast\"\n\
             [[zone]]\nname = \"example.\"\nprimaries = [\"{primary}\"]\n"
        ),
    );
    let knot = start_knot_from(&[("example.", "example.zone")], dir.path());
    wait_for(
        "the secondary's copy",
        Duration::from_secs(15),
        || (run_dig(secondary, &["example.", "SOA"]).status == "NOERROR").then_some(()),
        || format!("{}\n{}", anyns.log(), second.log()),
    );
    let asked = |server| expire_of(&run_dig(server, &["+expire", "example.", "SOA"]));
    // The zone's SOA EXPIRE is 604800.
    assert_eq!(asked(knot.addr), Some(604_800), "Knot");
    assert_eq!(asked(primary), Some(604_800), "anyns primary");
    let left = asked(secondary).expect("the secondary's EXPIRE");
    assert!(
        (604_700..604_800).contains(&left),
        "time left at the secondary: {left}"
    );
    assert_eq!(
        expire_of(&run_dig(primary, &["example.", "SOA"])),
        None,
        "not asked"
    );
    assert_eq!(
        expire_of(&run_dig(primary, &["+expire", "www.example.", "A"])),
        None,
        "not an SOA query"
    );
}
