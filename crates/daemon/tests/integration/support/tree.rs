//! The small DNS tree the resolver tests serve on loopback addresses: the root at
//! 127.0.0.2 delegating `test.` to 127.0.0.3 and `other.` to 127.0.0.6, the apex of `test.`
//! (each test adds its own delegations below it), and the root hints that point at it.

/// Root hints naming the tree's root (zone-file format, as `[resolver] hints` reads it).
pub(crate) const HINTS: &str = ". 3600000 IN NS a.root.\na.root. 3600000 IN A 127.0.0.2\n";

/// The root zone.
pub(crate) const ROOT: &str = "\
. 86400 IN SOA a.root. admin.root. 1 1800 900 604800 86400
. 86400 IN NS a.root.
a.root. 86400 IN A 127.0.0.2
test. 86400 IN NS ns1.test.
ns1.test. 86400 IN A 127.0.0.3
other. 86400 IN NS ns.other.
ns.other. 86400 IN A 127.0.0.6
";

/// `example.test.` on 127.0.0.4 and .5, and `glueless.test.` on `ns.other.` (no glue):
/// delegations for [`test_zone`].
pub(crate) const EXAMPLE_AND_GLUELESS: &str = "\
example.test. 3600 IN NS ns1.example.test.
example.test. 3600 IN NS ns2.example.test.
ns1.example.test. 3600 IN A 127.0.0.4
ns2.example.test. 3600 IN A 127.0.0.5
glueless.test. 3600 IN NS ns.other.
";

/// The `test.` zone: its apex (SOA and NS on 127.0.0.3), then `delegations`.
pub(crate) fn test_zone(delegations: &str) -> String {
    format!(
        "test. 3600 IN SOA ns1.test. admin.test. 1 1800 900 604800 60\n\
         test. 3600 IN NS ns1.test.\n\
         ns1.test. 3600 IN A 127.0.0.3\n\
         {delegations}"
    )
}
