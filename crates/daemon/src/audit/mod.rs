//! `anyns audit`: a deployment's anycast pitfalls found ahead of time, from zone files and
//! site configurations: answer sizes measured with the server's own answer code, the NS
//! sets and delegations, SOA timers, TTLs and signatures, and the deployment itself
//! (transfers on anycast, identities, clouds, upstreams). Each finding has a severity, a
//! code, where, what was measured, and what to change; a table or `--json`; the exit status
//! fails a pipeline at `--fail-on` (error by default).
//!
//! ```text
//!   configs + zone files ──► sizes (dns_auth::respond) ┐
//!                        ──► delegation, timers        ├──► findings ──► table | JSON
//!   configs              ──► deployment                ┘
//! ```

mod delegation;
mod deployment;
mod finding;
mod live;
mod sizes;
mod timers;

use std::path::PathBuf;
use std::sync::Arc;

use dns_zone::{Zone, ZoneSet, load_zone_file_at};
use serde::Serialize;

use finding::Finding;
pub use finding::Severity;

use crate::cli::AuditArgs;
use crate::clock::unix_now;
use crate::config::{Config, ConfigError, KeyPath};
use crate::error::Error;

/// The largest answers listed.
const LARGEST: usize = 10;

/// What `--json` prints.
#[derive(Serialize)]
struct Report {
    findings: Vec<Finding>,
    largest: Vec<sizes::Measured>,
    zones: Vec<String>,
    /// Whether every owner name was measured (`--max-names`).
    complete: bool,
}

/// Runs `anyns audit --live`.
fn live_command(args: &AuditArgs, zone: &str) -> Result<(), Error> {
    let usage = |key: &str, text: &str, why: String| {
        Error::Config(ConfigError::new(
            KeyPath::root(key),
            format!("{text:?}: {why}"),
        ))
    };
    let mut origin =
        dns_wire::name_from_text(zone).map_err(|e| usage("--live", zone, e.to_string()))?;
    dns_wire::lowercase_in_place(&mut origin);
    let servers = args
        .server
        .iter()
        .map(|text| {
            text.parse::<std::net::SocketAddr>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(|ip| (ip, 53).into()))
                .map_err(|_| usage("--server", text, "not ADDR or ADDR:PORT".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut anycast = Vec::new();
    for text in &args.anycast {
        anycast.push(
            text.parse()
                .map_err(|e| usage("--anycast", text, format!("{e}")))?,
        );
    }
    let timeout = std::time::Duration::from_millis(args.timeout_ms.clamp(10, 60_000));
    let (servers, findings) = live::audit(&origin, &servers, timeout, &anycast);
    if args.json {
        let report = serde_json::json!({ "zone": zone, "servers": servers, "findings": findings });
        println!("{report}");
    } else {
        let rows = servers
            .iter()
            .map(|s| {
                vec![
                    s.server.clone(),
                    s.nsid.clone().unwrap_or_else(|| "-".into()),
                    s.serial.map_or_else(|| "-".into(), |v| v.to_string()),
                    match &s.tcp {
                        Ok(()) => "ok".to_string(),
                        Err(why) => format!("FAILS: {why}"),
                    },
                    format!(
                        "{}/{}",
                        s.checks.iter().filter(|c| c.ok).count(),
                        s.checks.len()
                    ),
                    s.sizes
                        .iter()
                        .max_by_key(|(_, size, _)| *size)
                        .map_or_else(|| "-".into(), |(q, size, _)| format!("{size} ({q})")),
                ]
            })
            .collect();
        let mut out = crate::tables::table(
            &["SERVER", "NSID", "SERIAL", "TCP", "RFC 8906", "LARGEST"],
            rows,
        );
        out.push('\n');
        out.push_str(&if findings.is_empty() {
            "no finding\n".to_string()
        } else {
            finding::render(&findings)
        });
        print!("{out}");
    }
    fail_on(&findings, args.fail_on)
}

/// `Err` when a finding reaches `level`.
fn fail_on(findings: &[Finding], level: Severity) -> Result<(), Error> {
    let failing = findings.iter().filter(|f| f.severity >= level).count();
    if failing > 0 {
        return Err(Error::Findings(format!(
            "audit: {failing} finding(s) at or above {}",
            format!("{level:?}").to_lowercase()
        )));
    }
    Ok(())
}

/// Runs `anyns audit`.
pub(crate) fn command(args: &AuditArgs) -> Result<(), Error> {
    if let Some(zone) = &args.live {
        return live_command(args, zone);
    }
    let configs: Vec<(PathBuf, Config)> = args
        .config
        .iter()
        .map(|path| Ok((path.clone(), Config::from_file(path)?)))
        .collect::<Result<_, ConfigError>>()?;
    let mut findings = Vec::new();
    let mut zones: Vec<Zone> = Vec::new();
    let now = unix_now();
    let add = |zone: Zone, zones: &mut Vec<Zone>| {
        if !zones.iter().any(|z| z.origin() == zone.origin()) {
            zones.push(zone);
        }
    };
    for (path, config) in &configs {
        for zone in &config.zones {
            let name = dns_wire::name_to_text(&zone.origin);
            match (&zone.file, &config.storage) {
                (Some(file), _) => load(file, &zone.origin, zone.signature_window, now)
                    .map_or_else(|problems| findings.extend(problems), |z| add(z, &mut zones)),
                (None, Some(storage)) => {
                    match crate::transfer::state::load_stored(storage, &zone.origin) {
                        Some(stored) => add(stored, &mut zones),
                        None => findings.push(Finding::new(
                            Severity::Info,
                            "zone.not-audited",
                            format!("{}: {name}", path.display()),
                            "a secondary without a stored copy",
                            "audit the primary's zone file (--zone ORIGIN=FILE), or audit \
                             after the first transfer",
                        )),
                    }
                }
                (None, None) => {}
            }
        }
    }
    for spec in &args.zone {
        let (origin, file) = spec.split_once('=').ok_or_else(|| {
            Error::Config(ConfigError::new(
                KeyPath::root("--zone"),
                format!("{spec:?}: expected ORIGIN=FILE"),
            ))
        })?;
        let mut wire = dns_wire::name_from_text(origin).map_err(|e| {
            Error::Config(ConfigError::new(
                KeyPath::root("--zone"),
                format!("{origin:?}: {e}"),
            ))
        })?;
        dns_wire::lowercase_in_place(&mut wire);
        match load(std::path::Path::new(file), &wire, 0, now) {
            Ok(zone) => add(zone, &mut zones),
            Err(problems) => findings.extend(problems),
        }
    }
    if args.zone.is_empty() && configs.is_empty() {
        return Err(Error::Usage(
            "audit: nothing to audit: give --config FILE (repeatable) or --zone ORIGIN=FILE".into(),
        ));
    }
    let mut anycast = deployment::anycast_prefixes(&configs);
    for (i, text) in args.anycast.iter().enumerate() {
        anycast.push(text.parse().map_err(|e| {
            Error::Config(ConfigError::new(
                KeyPath::root("--anycast").index(i),
                format!("{text:?}: {e}"),
            ))
        })?);
    }
    let identity = configs
        .iter()
        .find_map(|(_, c)| c.identity.clone())
        .or_else(|| args.nsid.clone());
    let mut set = ZoneSet::new();
    let zones: Vec<Arc<Zone>> = zones.into_iter().map(Arc::new).collect();
    for zone in &zones {
        set.insert(zone.clone());
    }
    let all: Vec<&Zone> = zones.iter().map(|z| z.as_ref()).collect();
    let mut measured = Vec::new();
    let mut complete = true;
    for zone in &zones {
        let (sizes_of_zone, whole) = sizes::measure(
            &set,
            zone,
            identity.as_deref().map(str::as_bytes),
            args.max_names,
        );
        complete &= whole;
        findings.extend(sizes::findings(&sizes_of_zone));
        findings.extend(delegation::findings(zone, &all, &anycast));
        findings.extend(timers::findings(zone, now));
        measured.extend(sizes_of_zone);
    }
    findings.extend(deployment::findings(&configs));
    let report = Report {
        largest: sizes::largest(&measured, LARGEST),
        zones: zones
            .iter()
            .map(|z| dns_wire::name_to_text(z.origin()))
            .collect(),
        complete,
        findings,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| Error::Control(e.to_string()))?
        );
    } else {
        print!("{}", render(&report));
    }
    fail_on(&report.findings, args.fail_on)
}

/// Loads a zone file; a file that does not load is one finding per problem.
fn load(
    file: &std::path::Path,
    origin: &[u8],
    signature_window: u32,
    now: u64,
) -> Result<Zone, Vec<Finding>> {
    load_zone_file_at(file, origin, now, signature_window)
        .map(|(zone, _)| zone)
        .map_err(|err| {
            err.problems
                .iter()
                .filter(|p| p.severity == dns_zone::Severity::Error)
                .map(|problem| {
                    Finding::new(
                        Severity::Error,
                        "zone.does-not-load",
                        format!("{}: {}", file.display(), dns_wire::name_to_text(origin)),
                        problem.to_string(),
                        "the zone file does not load (anyns would not serve it): fix what \
                         the line says; `anyns check-zone` checks the file alone",
                    )
                })
                .collect()
        })
}

/// The report as text: the findings, then the largest answers.
fn render(report: &Report) -> String {
    let mut out = format!(
        "audited: {} ({} findings)\n\n",
        report.zones.join(" "),
        report.findings.len()
    );
    if report.findings.is_empty() {
        out.push_str("no finding\n");
    } else {
        out.push_str(&finding::render(&report.findings));
    }
    if !report.largest.is_empty() {
        out.push_str("\nlargest answers (the server's own answer code, untruncated):\n");
        let rows = report
            .largest
            .iter()
            .map(|m| {
                vec![
                    m.size.to_string(),
                    format!("{} {}", m.qname, m.qtype),
                    m.kind.to_string(),
                    m.variant.to_string(),
                ]
            })
            .collect();
        out.push_str(&crate::tables::table(
            &["OCTETS", "QUERY", "KIND", "VARIANT"],
            rows,
        ));
    }
    if !report.complete {
        out.push_str(
            "\n(sizes measured for the first --max-names owner names of each zone only)\n",
        );
    }
    out
}
