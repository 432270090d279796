//! Differential test of the resolver against Unbound (iterator only, no validation): in
//! a network namespace of its own (as root, support/differential.rs), a tree of anyns
//! authoritative servers answers on 127.0.0.2-7 port 53 (the root, `test.`,
//! `example.test.` twice, `other.` with `glueless.test.`, `sub.example.test.`), and
//! anyns's resolver and Unbound resolve the same corpus of names from the same root
//! hints. Every name must get the same response code, the same answer RRsets (TTLs
//! aside) and the same AD bit; the test prints the count of matches.

use std::fmt::Write as _;

use crate::support::bgp::is_root;
use crate::support::differential::Rig;
use crate::support::tree::{EXAMPLE_AND_GLUELESS, HINTS, ROOT, test_zone};

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

#[test]
fn resolver_answers_match_unbound_on_a_corpus_of_names() {
    if !is_root("resolver_answers_match_unbound_on_a_corpus_of_names") {
        return;
    }
    let mut rig = Rig::new("rdiff");
    rig.serve("root", "127.0.0.2", &[(".", ROOT.into())]);
    rig.serve(
        "tld",
        "127.0.0.3",
        &[("test.", test_zone(EXAMPLE_AND_GLUELESS))],
    );
    rig.serve("leaf1", "127.0.0.4", &[("example.test.", example())]);
    rig.serve("leaf2", "127.0.0.5", &[("example.test.", example())]);
    rig.serve(
        "other",
        "127.0.0.6",
        &[("other.", other()), ("glueless.test.", glueless())],
    );
    rig.serve("sub", "127.0.0.7", &[("sub.example.test.", sub())]);
    rig.start_resolvers(HINTS, None, "h0.example.test.");
    let corpus = corpus();
    assert!(corpus.len() >= 200, "{} names", corpus.len());
    rig.assert_resolvers_agree("unsigned tree", &corpus);
}
