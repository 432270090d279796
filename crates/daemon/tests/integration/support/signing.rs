//! Signed test zones, made at test set-up with ldnsutils: `ldns-keygen` makes a KSK
//! (RSASHA256, 2048 bits: its DNSKEY answer outgrows 512 octets) and a ZSK (1024 bits) per
//! zone, and `ldns-signzone` signs `tests/data/signed/source.zone` with NSEC, NSEC3, or NSEC3
//! with opt-out. ldns-signzone's `-p` only sets the opt-out flag, so the opt-out zone also
//! gets insecure delegations added after signing (`unsigned-delegations.zone`): names an
//! opt-out signer leaves out of the chain.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use super::{corpus_dir, require_tool};

/// How a zone proves nonexistence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Chain {
    /// NSEC (RFC 4034).
    Nsec,
    /// NSEC3, SHA-1, 2 iterations, salt ABCD (RFC 5155).
    Nsec3,
    /// NSEC3 with the opt-out flag, and insecure delegations outside the chain.
    Nsec3OptOut,
}

/// Zones signed into a temporary directory.
pub(crate) struct SignedZones {
    /// Holds the zone files (`<origin>zone`) and keys.
    pub(crate) dir: TempDir,
    /// (origin, file name) of each zone, as the server starters take them.
    pub(crate) zones: Vec<(String, String)>,
    /// The KSK's DNSKEY record of each zone, in presentation format: a trust anchor.
    pub(crate) anchors: Vec<String>,
}

impl SignedZones {
    /// The zones as the server starters take them.
    pub(crate) fn list(&self) -> Vec<(&str, &str)> {
        self.zones
            .iter()
            .map(|(origin, file)| (origin.as_str(), file.as_str()))
            .collect()
    }

    /// The directory holding the zone files.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The path of a zone's file.
    pub(crate) fn file(&self, origin: &str) -> PathBuf {
        let (_, file) = self
            .zones
            .iter()
            .find(|(o, _)| o == origin)
            .expect("zone signed");
        self.dir.path().join(file)
    }
}

/// Signs the source zone under each (origin, chain).
pub(crate) fn sign_zones(specs: &[(&str, Chain)]) -> SignedZones {
    let keygen = require_tool("ldns-keygen");
    let signzone = require_tool("ldns-signzone");
    let dir = tempfile::tempdir().expect("tempdir");
    let source = corpus_dir().join("signed/source.zone");
    let extra = fs::read_to_string(corpus_dir().join("signed/unsigned-delegations.zone"))
        .expect("read unsigned delegations");
    let mut zones = Vec::new();
    let mut anchors = Vec::new();
    for &(origin, chain) in specs {
        let keygen_run = |args: &[&str]| -> String {
            let output = Command::new(&keygen)
                .args(args)
                .arg(origin)
                .current_dir(dir.path())
                .output()
                .expect("run ldns-keygen");
            assert!(
                output.status.success(),
                "ldns-keygen failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        };
        let ksk = keygen_run(&["-a", "RSASHA256", "-b", "2048", "-k"]);
        let zsk = keygen_run(&["-a", "RSASHA256", "-b", "1024"]);
        let file = format!("{}zone", origin);
        let mut command = Command::new(&signzone);
        match chain {
            Chain::Nsec => {}
            Chain::Nsec3 => {
                command.args(["-n", "-s", "abcd", "-t", "2"]);
            }
            Chain::Nsec3OptOut => {
                command.args(["-n", "-p", "-s", "abcd", "-t", "2"]);
            }
        }
        let output = command
            .args(["-o", origin, "-f", &file])
            .arg(&source)
            .args([&ksk, &zsk])
            .current_dir(dir.path())
            .output()
            .expect("run ldns-signzone");
        assert!(
            output.status.success(),
            "ldns-signzone failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        if chain == Chain::Nsec3OptOut {
            let path = dir.path().join(&file);
            let mut text = fs::read_to_string(&path).expect("read signed zone");
            text.push_str(&format!("$ORIGIN {origin}\n$TTL 3600\n{extra}"));
            fs::write(&path, text).expect("write opt-out zone");
        }
        let anchor = fs::read_to_string(dir.path().join(format!("{ksk}.key"))).expect("KSK");
        anchors.push(anchor.trim().to_owned());
        zones.push((origin.to_owned(), file));
    }
    SignedZones {
        dir,
        zones,
        anchors,
    }
}

/// Replaces `from` by `to` in a zone file, once (a tampered record: its signature no longer
/// matches).
pub(crate) fn tamper(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).expect("read zone");
    assert!(text.contains(from), "{from} not in {}", path.display());
    fs::write(path, text.replacen(from, to, 1)).expect("write zone");
}
