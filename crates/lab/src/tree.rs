//! The lab's own DNS tree, for its resolver clouds: a signed root (served by the `root`
//! cloud), the lab's zone as the TLD (served by the zone clouds, signed at the primary on
//! every publish), and leaf zones (served by the `root` and `leaves` clouds):
//!
//! ```text
//!   .                 NSEC, root.example. (root cloud)          DS example.
//!   example.          NSEC, ns1/ns2 (from the primary)           DS nsec., nsec3., chain.
//!     nsec.example.   NSEC     www, txt, *.wild
//!     nsec3.example.  NSEC3    www, txt
//!     chain.example.  NSEC     start -> hop1 -> hop2 -> www.plain.example.
//!     plain.example.  unsigned www (the resolver clouds' health probe zone)
//!     far.example.    unsigned NS root, leaf (anycast) and slow.far (unicast only);
//!                     `big` TXT needs TCP even with EDNS
//! ```
//!
//! Keys are ECDSA P-256 (ldns-keygen), made at every `up` in `RUN_DIR/tree`; zones are
//! signed with ldns-signzone (default validity: four weeks), once, and the same signed text
//! goes to every server of a zone (signatures differ at each signing).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::topology::{Serves, Topology};
use crate::{Error, system};

/// Strings of 200 octets in `big.far.example.` TXT: about 1.7 KB, so the answer is
/// truncated over UDP even with EDNS 1232 and must come over TCP.
pub const FAR_BIG_TXT_STRINGS: usize = 8;

/// How a zone of the tree proves denials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Chain {
    /// Not signed.
    Unsigned,
    /// NSEC.
    Nsec,
    /// NSEC3 (SHA-1, one iteration, salt ABCD).
    Nsec3,
}

/// A leaf zone of the tree.
pub(crate) struct Leaf {
    /// Its origin (`nsec.example.`).
    pub(crate) origin: String,
    /// Its file name on the servers.
    pub(crate) file: String,
    /// The unsigned text.
    pub(crate) text: String,
    /// How it is signed.
    pub(crate) chain: Chain,
}

/// The name of the lab zone's `label` subdomain (`nsec` -> `nsec.example.`).
pub fn tree_name(t: &Topology, label: &str) -> String {
    format!("{label}.{}", t.zone)
}

/// The name servers the leaves are delegated to: the `root` and `leaves` clouds, each by
/// its name in the lab's zone (`root.example.`).
fn leaf_servers(t: &Topology) -> Vec<String> {
    let mut names: Vec<String> = t
        .clouds_serving(Serves::Root)
        .into_iter()
        .chain(t.clouds_serving(Serves::Leaves))
        .map(|c| format!("{}.{}", t.clouds[c].name, t.zone))
        .collect();
    names.sort();
    names
}

/// The leaf zones.
pub(crate) fn leaves(t: &Topology) -> Vec<Leaf> {
    let head = |label: &str| {
        let origin = tree_name(t, label);
        let mut z = format!(
            "$ORIGIN {origin}\n$TTL 300\n@ 3600 SOA {ns} hostmaster.{zone} ( 1 1800 900 604800 300 )\n",
            ns = leaf_servers(t).first().cloned().unwrap_or_default(),
            zone = t.zone,
        );
        for ns in leaf_servers(t) {
            let _ = writeln!(z, "@ 3600 NS {ns}");
        }
        z
    };
    let mut out = Vec::new();
    let mut push = |label: &str, chain: Chain, text: String| {
        out.push(Leaf {
            origin: tree_name(t, label),
            file: format!("{label}.zone"),
            text,
            chain,
        });
    };
    push(
        "nsec",
        Chain::Nsec,
        head("nsec") + "www A 203.0.113.81\ntxt TXT \"signed, NSEC\"\n*.wild A 203.0.113.84\n",
    );
    push(
        "nsec3",
        Chain::Nsec3,
        head("nsec3") + "www A 203.0.113.83\ntxt TXT \"signed, NSEC3\"\n",
    );
    push(
        "chain",
        Chain::Nsec,
        head("chain")
            + &format!(
                "start CNAME hop1\nhop1 CNAME hop2\nhop2 CNAME www.{}\n",
                tree_name(t, "plain")
            ),
    );
    push(
        "plain",
        Chain::Unsigned,
        head("plain") + "www A 203.0.113.82\n",
    );
    let mut far = head("far");
    if let Some((v4, v6)) = t.slow_addresses() {
        let _ = writeln!(far, "@ 3600 NS slow\nslow 3600 A {v4}\nslow 3600 AAAA {v6}");
    }
    far.push_str("www A 203.0.113.85\nsmall TXT \"hi\"\n");
    for i in 0..FAR_BIG_TXT_STRINGS {
        let _ = writeln!(far, "big TXT \"{i}{}\"", "x".repeat(199));
    }
    push("far", Chain::Unsigned, far);
    out
}

/// What the lab's zone adds when it is the tree's TLD: the leaves' delegations (with the
/// slow server's glue) and the DS records of the signed ones (`ds`, presentation format).
pub(crate) fn tld_additions(t: &Topology, ds: &str) -> String {
    let mut z = String::from("; The DNS tree's delegations.\n");
    for leaf in leaves(t) {
        for ns in leaf_servers(t) {
            let _ = writeln!(z, "{} 3600 NS {ns}", leaf.origin);
        }
    }
    if let Some((v4, v6)) = t.slow_addresses() {
        let far = tree_name(t, "far");
        let _ = writeln!(
            z,
            "{far} 3600 NS slow.{far}\nslow.{far} 3600 A {v4}\nslow.{far} 3600 AAAA {v6}"
        );
    }
    z.push_str(ds);
    z
}

/// The root zone: the `root` cloud as its server, the lab's zone delegated to the zone
/// clouds, and `tld_ds` (the lab zone's DS records).
pub(crate) fn root_zone(t: &Topology, tld_ds: &str) -> String {
    let mut z = format!(
        "$ORIGIN .\n$TTL 86400\n. SOA {root} hostmaster.{zone} ( 1 1800 900 604800 86400 )\n",
        root = root_server(t),
        zone = t.zone,
    );
    for c in t.clouds_serving(Serves::Root) {
        let _ = writeln!(z, ". NS {}.{}", t.clouds[c].name, t.zone);
    }
    for c in t.clouds_serving(Serves::Zone) {
        let _ = writeln!(z, "{} NS {}.{}", t.zone, t.clouds[c].name, t.zone);
    }
    // Glue: every server named here lies below the lab zone's cut.
    for c in t
        .clouds_serving(Serves::Zone)
        .into_iter()
        .chain(t.clouds_serving(Serves::Root))
    {
        for a in &t.clouds[c].addresses {
            let rtype = if a.is_ipv4() { "A" } else { "AAAA" };
            let _ = writeln!(z, "{}.{} {rtype} {a}", t.clouds[c].name, t.zone);
        }
    }
    z.push_str(tld_ds);
    z
}

/// The root server's name.
fn root_server(t: &Topology) -> String {
    t.clouds_serving(Serves::Root)
        .first()
        .map(|&c| format!("{}.{}", t.clouds[c].name, t.zone))
        .unwrap_or_default()
}

/// Root hints for the resolvers: the `root` cloud's addresses.
pub(crate) fn hints(t: &Topology) -> String {
    let mut z = String::new();
    for c in t.clouds_serving(Serves::Root) {
        let name = format!("{}.{}", t.clouds[c].name, t.zone);
        let _ = writeln!(z, ". 3600000 NS {name}");
        for a in &t.clouds[c].addresses {
            let rtype = if a.is_ipv4() { "A" } else { "AAAA" };
            let _ = writeln!(z, "{name} 3600000 {rtype} {a}");
        }
    }
    z
}

/// Keys and signatures, in a directory of their own.
pub(crate) struct Signer {
    dir: PathBuf,
}

/// A zone's key pair: ldns's key file base names.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    ksk: String,
    zsk: String,
}

impl Signer {
    /// A signer working in `dir` (created, emptied of earlier keys).
    pub(crate) fn new(dir: &Path) -> Result<Self, Error> {
        if dir.exists() {
            fs::remove_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
        }
        fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
        for tool in ["ldns-keygen", "ldns-signzone"] {
            if !system::tool(tool).is_file() {
                return Err(Error::NoLab(format!(
                    "{tool} not found (Debian: apt-get install ldnsutils)"
                )));
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The signer of the keys already in `dir` (a lab found again).
    pub(crate) fn existing(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    fn keygen(&self, origin: &str, ksk: bool) -> Result<String, Error> {
        let mut command = Command::new(system::tool("ldns-keygen"));
        command.args(["-a", "ECDSAP256SHA256"]);
        if ksk {
            command.arg("-k");
        }
        let out = system::run(command.arg(origin).current_dir(&self.dir))?;
        Ok(out.trim().to_string())
    }

    /// A fresh key pair for `origin`; its base names are kept in `ORIGIN.keys`.
    pub(crate) fn make_keys(&self, origin: &str) -> Result<Keys, Error> {
        let keys = Keys {
            ksk: self.keygen(origin, true)?,
            zsk: self.keygen(origin, false)?,
        };
        let list = self.dir.join(format!("{origin}keys"));
        fs::write(&list, format!("{}\n{}\n", keys.ksk, keys.zsk))
            .map_err(|e| Error::io(list.display(), e))?;
        Ok(keys)
    }

    /// The key pair made earlier for `origin`.
    pub(crate) fn keys(&self, origin: &str) -> Result<Keys, Error> {
        let list = self.dir.join(format!("{origin}keys"));
        let text = fs::read_to_string(&list).map_err(|e| Error::io(list.display(), e))?;
        let mut lines = text.lines();
        match (lines.next(), lines.next()) {
            (Some(ksk), Some(zsk)) => Ok(Keys {
                ksk: ksk.into(),
                zsk: zsk.into(),
            }),
            _ => Err(Error::NoLab(format!("{}: no keys", list.display()))),
        }
    }

    /// The DS record of `keys`'s KSK (SHA-256), in presentation format.
    pub(crate) fn ds(&self, keys: &Keys) -> Result<String, Error> {
        let path = self.dir.join(format!("{}.ds", keys.ksk));
        fs::read_to_string(&path).map_err(|e| Error::io(path.display(), e))
    }

    /// Signs `text` as zone `origin` with `keys` and `chain`; the signed text.
    pub(crate) fn sign(
        &self,
        origin: &str,
        text: &str,
        keys: &Keys,
        chain: Chain,
    ) -> Result<String, Error> {
        if chain == Chain::Unsigned {
            return Ok(text.to_string());
        }
        let input = self.dir.join(format!("{origin}src"));
        let output = self.dir.join(format!("{origin}signed"));
        fs::write(&input, text).map_err(|e| Error::io(input.display(), e))?;
        let mut command = Command::new(system::tool("ldns-signzone"));
        if chain == Chain::Nsec3 {
            command.args(["-n", "-s", "abcd", "-t", "1"]);
        }
        command
            .args(["-o", origin, "-f"])
            .arg(&output)
            .arg(&input)
            .args([&keys.ksk, &keys.zsk])
            .current_dir(&self.dir);
        system::run(&mut command)?;
        fs::read_to_string(&output).map_err(|e| Error::io(output.display(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver_lab() -> Topology {
        Topology::from_toml(include_str!("../../../lab/resolver.toml")).unwrap()
    }

    #[test]
    fn the_tree_delegates_every_leaf_and_glues_what_lies_below_a_cut() {
        let t = resolver_lab();
        let additions = tld_additions(&t, "");
        for label in ["nsec", "nsec3", "chain", "plain", "far"] {
            assert!(
                additions.contains(&format!("{label}.example. 3600 NS root.example.")),
                "{additions}"
            );
        }
        assert!(
            additions.contains(
                "far.example. 3600 NS slow.far.example.\nslow.far.example. 3600 A 192.0.2."
            ),
            "{additions}"
        );
        let root = root_zone(&t, "example. IN DS 1 13 2 00\n");
        assert!(
            root.contains("example. NS ns1.example.") && root.contains("example. NS ns2.example."),
            "{root}"
        );
        assert!(root.contains("root.example. A 203.0.113.1"), "{root}");
        assert!(
            !root.contains("leaf.example."),
            "only the root's servers: {root}"
        );
        assert!(hints(&t).contains(". 3600000 NS root.example."));
        let far = leaves(&t)
            .into_iter()
            .find(|l| l.origin == "far.example.")
            .unwrap();
        assert!(far.text.contains("@ 3600 NS slow\n"), "{}", far.text);
    }
}
