//! Differential test of the validating resolver against Unbound (`validator iterator`):
//! the signed tree the resolver crate's own tests use (crates/dns-resolve/src/testdata/
//! signed-tree, made with ldns-signzone: a signed root, `test.` with NSEC3, and one zone per
//! case at 192.0.2.3-9) is served by anyns authoritative servers in a namespace of its own,
//! and both resolvers validate from the tree's root anchor. Secure (NSEC and NSEC3 zones:
//! positive, CNAME in and across zones, wildcard, NXDOMAIN, NODATA, empty non-terminal,
//! DNSKEY, DS), insecure (a delegation without DS; a signed zone whose parent has no DS),
//! and bogus (a record changed after signing, expired signatures, a DS naming a key the
//! zone lacks) names must get the same response code, answer RRsets and AD bit.

use std::fs;
use std::path::PathBuf;

use crate::support::bgp::is_root;
use crate::support::differential::Rig;

/// The signed tree's files.
fn tree_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../dns-resolve/src/testdata/signed-tree")
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The zones under `test.`, in the order of their servers' addresses (192.0.2.3 up).
const CASES: [&str; 7] = [
    "secure", "nsec3", "insecure", "unlinked", "bogus", "expired", "wrongds",
];

fn corpus() -> Vec<(String, &'static str)> {
    let mut q = Vec::new();
    for case in CASES {
        let zone = format!("{case}.test.");
        for (name, qtype) in [
            ("www", "A"),
            ("www", "AAAA"),
            ("www", "MX"),
            ("txt", "TXT"),
            ("alias", "A"),
            ("ext", "A"),
            ("nothing", "A"),
            ("more.nothing", "TXT"),
            ("deep", "A"),
            ("sub.deep", "A"),
            ("x.wild", "A"),
            ("y.z.wild", "A"),
            ("", "DNSKEY"),
            ("", "DS"),
            ("", "SOA"),
            ("", "NS"),
        ] {
            let owner = if name.is_empty() {
                zone.clone()
            } else {
                format!("{name}.{zone}")
            };
            q.push((owner, qtype));
        }
    }
    for (name, qtype) in [
        ("test.", "SOA"),
        ("test.", "DNSKEY"),
        ("nothing.test.", "A"),
        ("ns1.test.", "AAAA"),
        (".", "DNSKEY"),
        ("nothing.", "A"),
        ("test.", "DS"),
    ] {
        q.push((name.to_string(), qtype));
    }
    q
}

#[test]
fn validating_resolver_matches_unbound_on_secure_insecure_and_bogus_names() {
    if !is_root("validating_resolver_matches_unbound_on_secure_insecure_and_bogus_names") {
        return;
    }
    let mut rig = Rig::new("rdnssec");
    rig.add_address("192.0.2.1");
    rig.serve("root", "192.0.2.1", &[(".", tree_file("root.zone"))]);
    rig.add_address("192.0.2.2");
    rig.serve("tld", "192.0.2.2", &[("test.", tree_file("test.zone"))]);
    for (n, case) in CASES.iter().enumerate() {
        let address = format!("192.0.2.{}", 3 + n);
        rig.add_address(&address);
        let origin = format!("{case}.test.");
        let text = tree_file(&format!("{case}.test.zone"));
        rig.serve(case, &address, &[(origin.as_str(), text)]);
    }
    let hints = ". 3600000 IN NS a.root.\na.root. 3600000 IN A 192.0.2.1\n";
    let anchor = format!("$TTL 3600\n{}", tree_file("anchor"));
    rig.start_resolvers(hints, Some(&anchor), "www.insecure.test.");
    let corpus = corpus();
    assert!(corpus.len() >= 100, "{} names", corpus.len());
    rig.assert_resolvers_agree("signed tree", &corpus);
}
