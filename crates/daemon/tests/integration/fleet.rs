//! `anyns fleet status` on loopback (no root needed): three sites, one serving an older
//! serial and drained, one whose status endpoint accepts connections and never answers;
//! the view lists every site, flags the drained one and the laggard, shows the silent one
//! unreachable within its timeout, and names the site that answers the anycast address.

use std::fs;
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{self, free_port, start_local_anyns, test_dir, wait_for};

fn zone(serial: u32) -> String {
    format!(
        "$ORIGIN example.\n$TTL 300\n\
         @ IN SOA ns1.example. hostmaster.example. {serial} 3600 600 86400 300\n\
         @ IN NS ns1.example.\nns1 IN A 192.0.2.53\n"
    )
}

fn site_config(name: &str, dns_port: u16, metrics_port: u16, socket: &std::path::Path) -> String {
    format!(
        "[server]\nidentity = \"{name}\"\nudp-workers = 1\nmetrics = \"127.0.0.1:{metrics_port}\"\n\
         control-socket = \"{}\"\n\
         [[listen]]\naddress = \"127.0.0.1:{dns_port}\"\nrole = \"unicast\"\n\
         [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n\
         [health]\n[[health.cloud]]\nname = \"ns1\"\ninstances = [\"127.0.0.1:{dns_port}\"]\n",
        socket.display()
    )
}

fn fleet(inventory: &std::path::Path, json: bool) -> (bool, String, Duration) {
    let started = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_anyns"));
    command
        .args(["fleet", "status", "--inventory"])
        .arg(inventory);
    if json {
        command.arg("--json");
    }
    let out = command.output().expect("run anyns fleet");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        started.elapsed(),
    )
}

#[test]
fn the_fleet_view_flags_drained_lagging_and_unreachable_sites() {
    let _serial = support::serial();
    let dir = test_dir();
    let mut daemons = Vec::new();
    let mut ports = Vec::new();
    for (name, serial) in [("ams", 8), ("fra", 7)] {
        let site_dir = dir.path().join(name);
        fs::create_dir_all(&site_dir).unwrap();
        fs::write(site_dir.join("example.zone"), zone(serial)).unwrap();
        let (dns, metrics) = (free_port(), free_port());
        let socket = site_dir.join("ctl.sock");
        daemons.push(start_local_anyns(
            &site_dir,
            name,
            &site_config(name, dns, metrics, &socket),
        ));
        ports.push((dns, metrics, socket));
    }
    // nyc's endpoint takes connections and never answers (a wedged or filtered site).
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_address = silent.local_addr().unwrap();
    let inventory = dir.path().join("fleet.toml");
    fs::write(
        &inventory,
        format!(
            "timeout-ms = 300\n\
             [[site]]\nname = \"ams\"\nstatus = [\"127.0.0.1:{}\"]\n\
             [[site]]\nname = \"fra\"\nstatus = [\"127.0.0.1:{}\"]\n\
             [[site]]\nname = \"nyc\"\nstatus = [\"{silent_address}\"]\n\
             [[cloud]]\nname = \"ns1\"\naddresses = [\"127.0.0.1:{}\"]\n",
            ports[0].1, ports[1].1, ports[0].0
        ),
    )
    .unwrap();
    let logs = || {
        daemons
            .iter()
            .map(|d| d.log())
            .collect::<Vec<_>>()
            .join("\n")
    };
    // Both clouds announced first, then fra drained.
    wait_for(
        "ams and fra announced",
        Duration::from_secs(10),
        || {
            let (_, out, _) = fleet(&inventory, false);
            (out.matches("ns1 announced").count() == 2).then_some(())
        },
        || format!("{}\n{}", fleet(&inventory, false).1, logs()),
    );
    let drain = Command::new(env!("CARGO_BIN_EXE_anyns"))
        .args(["ctl", "--socket"])
        .arg(&ports[1].2)
        .arg("drain")
        .output()
        .unwrap();
    assert!(drain.status.success(), "{drain:?}");
    let view = wait_for(
        "fra drained",
        Duration::from_secs(5),
        || {
            let (ok, out, _) = fleet(&inventory, false);
            (ok && out.contains("ns1 DRAINED")).then_some(out)
        },
        || format!("{}\n{}", fleet(&inventory, false).1, logs()),
    );
    let line = |site: &str| {
        view.lines()
            .find(|l| l.starts_with(&format!("{site} ")))
            .unwrap_or_else(|| panic!("no {site} row: {view}"))
            .to_string()
    };
    assert!(
        line("ams").contains(" ok ") && line("ams").contains("ns1 announced"),
        "{view}"
    );
    assert!(line("fra").contains("ns1 DRAINED"), "{view}");
    assert!(
        view.contains("\n  fra ns1: "),
        "the reason under the table: {view}"
    );
    assert!(line("nyc").contains("UNREACHABLE"), "{view}");
    assert!(line("nyc").contains("no answer within 300 ms"), "{view}");
    let zone_row = line("example.");
    assert!(zone_row.contains("8 ") && zone_row.contains("7*"), "{view}");
    assert!(zone_row.trim_end().ends_with("fra"), "fra lags: {view}");
    let anycast = view
        .lines()
        .find(|l| l.starts_with("ns1 "))
        .unwrap_or_else(|| panic!("{view}"));
    assert!(anycast.contains("ams ("), "ams answers its address: {view}");

    // JSON, and the bound: two polls of at most 300 ms each, a second apart.
    let (ok, json, took) = fleet(&inventory, true);
    assert!(ok, "{json}");
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    let value: serde_json::Value = serde_json::from_str(json.trim()).expect("JSON");
    let sites = value["sites"].as_array().unwrap();
    assert_eq!(sites.len(), 3, "{value}");
    assert_eq!(sites[2]["reachable"], 0, "{value}");
    assert!(
        sites[0]["queries_per_second"].as_f64().unwrap() > 0.0,
        "health probes count: {value}"
    );
    assert_eq!(value["zones"][0]["lagging"][0], "fra", "{value}");
    assert_eq!(value["anycast"][0]["answered_by"], "ams", "{value}");
    drop(silent);
}
