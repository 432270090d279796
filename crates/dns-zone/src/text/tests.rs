//! The fast reader against `domain`'s scanner: on every test zone, and on thousands of
//! seeded mutations of them, the fast reader either gives up or yields exactly the records
//! (owner, type, TTL, RDATA, line) and problems that `domain` yields (with `load`'s mending
//! of a lone `@` in RDATA, which `domain` 0.12 reads as a label).

use std::path::Path;

use super::{GiveUp, read_zone_text};
use crate::build::ZoneBuilder;

type Records = Vec<crate::build::RecordAsRead>;

/// Records and problems as read by the fast reader, or `GiveUp`.
fn fast(text: &[u8], origin: &[u8]) -> Result<(Records, Vec<String>), GiveUp> {
    let mut builder = ZoneBuilder::new(origin, "<text>");
    let file = builder.file_index("<text>");
    read_zone_text(&mut builder, text, file, origin, None, &mut |_, _| {
        Err(GiveUp)
    })?;
    Ok((builder.records_as_read(), builder.problems_as_read()))
}

/// Records and problems as read by `domain`'s scanner.
fn general(text: &[u8], origin: &[u8]) -> (Records, Vec<String>) {
    let mut builder = ZoneBuilder::new(origin, "<text>");
    crate::load::scan_with_domain(&mut builder, text, Path::new("<text>"), origin, None, 0);
    (builder.records_as_read(), builder.problems_as_read())
}

fn wire(name: &str) -> Vec<u8> {
    dns_wire::name_from_text(name).unwrap()
}

/// Every type the fast reader handles, in the forms zone files use.
const EVERY_FORM: &str = r#"$ORIGIN example.
$TTL 3600
@   IN SOA ns1 hostmaster ( 2024010101 ; serial
            7200 3600 1209600 300 )
    IN NS ns1
    NS ns2.example.net.
ns1 A 192.0.2.1
www 300 IN A 192.0.2.10
    IN 60 AAAA 2001:db8::10
    AAAA ::ffff:192.0.2.1
Mixed.Case TXT "a\"b" "c d" plain \065\066 ""
esc\.aped\032name A 192.0.2.2
*.wild CNAME www
mx MX 10 mail.example.net.
    MX 20 @
ptr PTR www.example.
srv._tcp SRV 0 5 5060 sip
dn DNAME other.example.net.
sub NS ns.sub
sub DS 60485 5 1 ( 2BB183AF5F22588179A53B0A
                    98631FAD1A292118 )
sub CDS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
ns.sub A 192.0.2.53
@ DNSKEY 256 3 8 ( AwEAAdsb0ayHzc4O4+dNLM3WzYoLeuVQSK4uhoWQqUmyYtC8WEfKmg5SAjnY
                   krFV0/CfxOWmwMs+p0rE7X3Mtzaa/LG+4963klwF2E69sdPH/OeWnOfOq6X9
                   +3vNYdO+jCYIZNhc0qDJFUu88szcPh/8nYrCrwNQihJemknK9ghNyyGD ) ; zsk
@ CDNSKEY 0 3 0 AA==
@ RRSIG SOA 8 1 3600 20261223092541 20261125092541 4455 example. ( KxSDW4eoq/NkevFw1Spw
    DMFSIr+PPD7mDV0IqB0NYXv7AGupycObuskuh38BM85nEXc2rLRPdpSal2R96obEUGxJUH3JskmxyOQtoKrVl
    gAfQdl3TKO00f9GrHRFadk7qXJZrggD4lDUbjsb/wPczmHx7ScfG+nApEy8VsLGq/c= )
@ RRSIG A 8 1 3600 1798022459 1766486459 4455 example. AAAA
@ NSEC ns1.example. NS SOA RRSIG NSEC DNSKEY TYPE65280 CAA
ns1 NSEC www A RRSIG NSEC
@ NSEC3PARAM 1 0 2 abcd
@ NSEC3PARAM 1 0 0 -
bf6ubj96m1q08c50c4frfeeen5ntru4c NSEC3 1 1 2 ABCD D839JAV1QNFJK5OJGOG5FRMC9198AED3 NS SOA
bf6ubj96m1q08c50c4frfeeen5ntru4d NSEC3 1 0 0 - d839jav1qnfjk5ojgog5frmc9198aed3
$ORIGIN sub2.example.
$TTL 100
a A 192.0.2.3
b 200 A 192.0.2.4
  A 192.0.2.5
c TXT "semi;colon" "(paren)"
caa CAA 0 issue "ca.example" ; comment
odd TYPE65280 \# 4 0a000001
tlsa._tcp TLSA 3 1 1 ( 0123456789abcdef0123456789abcdef
                       0123456789abcdef0123456789abcdef )
   HINFO "cpu" os
   RP @ .
"#;

#[test]
fn reads_every_form_as_domain_does() {
    let origin = wire("example.");
    let mine = fast(EVERY_FORM.as_bytes(), &origin).expect("the fast reader takes every form");
    let theirs = general(EVERY_FORM.as_bytes(), &origin);
    assert_eq!(mine, theirs);
    // `MX 20 @` and `RP @ .`: the origin (RFC 1035 §5.1), whichever reader took the text.
    let at_mx = mine
        .0
        .iter()
        .find(|r| r.1 == 15 && r.3.starts_with(&[0, 20]))
        .unwrap();
    assert_eq!(&at_mx.3[2..], &origin[..]);
    let rp = mine.0.iter().find(|r| r.1 == 17).unwrap();
    assert_eq!(rp.3, [&wire("sub2.example.")[..], &[0]].concat());
    assert_eq!(mine.0.len(), 38);
}

#[test]
fn reads_signed_test_zones_as_domain_does() {
    for (text, origin) in [
        (include_str!("../../testdata/sec-nsec.zone"), "sec-nsec."),
        (include_str!("../../testdata/sec-nsec3.zone"), "sec-nsec3."),
        (
            include_str!("../../testdata/sec-optout.zone"),
            "sec-optout.",
        ),
    ] {
        let origin = wire(origin);
        let mine = fast(text.as_bytes(), &origin).expect("signed zones take the fast path");
        assert!(mine.0.len() > 20);
        assert_eq!(mine, general(text.as_bytes(), &origin));
    }
}

#[test]
fn reads_the_fuzz_seed_zones_as_domain_does() {
    let origin = wire("example.");
    let seeds = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/zonefile"
    ))
    .unwrap()
    .map(|entry| std::fs::read(entry.unwrap().path()).unwrap());
    let mut taken = 0;
    for text in seeds {
        let theirs = general(&text, &origin);
        if let Ok(mine) = fast(&text, &origin) {
            assert_eq!(mine, theirs, "{}", String::from_utf8_lossy(&text));
            taken += 1;
        }
    }
    assert!(taken >= 4, "{taken}");
    // The zone Knot signed and dumped (no class, `;;` comments, CDS/CDNSKEY, CAA) is taken.
    let knot = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/zonefile/knot-signed-nsec.zone"
    ))
    .unwrap();
    let mine = fast(&knot, &origin).expect("the fast reader takes Knot's signed dump");
    assert!(mine.0.len() > 50, "{}", mine.0.len());
}

#[test]
fn gives_up_on_what_it_leaves_to_domain() {
    let origin = wire("example.");
    for text in [
        "$INCLUDE other.zone\n",
        "@ CAA 0 issue\n",
        "@ CAA ( 0 issue \"ca.example\"\n",
        "@ CH TXT x\n",
        "@ A 192.0.2.1 extra\n",
        "@ A (192.0.2.1\n",
        "  A 192.0.2.1\n",
        "@ TXT \"unterminated\n",
        "@ 1x A 192.0.2.1\n",
        "@ DNSKEY 256 3 ED25519 AA==\n",
        "t TXT \"a\"\"b\"\n",
        "$INCLUDE \"quoted path\"\n",
    ] {
        assert_eq!(fast(text.as_bytes(), &origin), Err(GiveUp), "{text:?}");
    }
}

#[test]
fn include_hands_the_file_over_with_origin_and_ttl() {
    let origin = wire("example.");
    let mut builder = ZoneBuilder::new(&origin, "<text>");
    let mut seen = Vec::new();
    let text = b"$TTL 120\n$INCLUDE a.inc\n$INCLUDE b.inc sub\n$ORIGIN other.\n$INCLUDE c.inc\n";
    read_zone_text(&mut builder, text, 0, &origin, None, &mut |_, include| {
        seen.push((
            include.path.to_owned(),
            include.origin.to_vec(),
            include.ttl,
        ));
        Ok(())
    })
    .unwrap();
    assert_eq!(
        seen,
        [
            ("a.inc".to_owned(), origin.clone(), Some(120)),
            ("b.inc".to_owned(), wire("sub.example."), Some(120)),
            ("c.inc".to_owned(), wire("other."), Some(120)),
        ]
    );
}

/// A small seeded generator (xorshift64*): the mutations are the same on every run.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Bytes that change how zone text reads.
const INTERESTING: &[u8] = b" \t\n()\";\\@.$0129azAZ=+/-*#\r\x7f\xc3";

fn mutate(text: &[u8], rng: &mut Seeded) -> Vec<u8> {
    let mut out = text.to_vec();
    for _ in 0..1 + rng.below(3) {
        if out.is_empty() {
            break;
        }
        let at = rng.below(out.len());
        match rng.below(5) {
            0 => {
                out.remove(at);
            }
            1 => out.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            2 => out[at] = INTERESTING[rng.below(INTERESTING.len())],
            3 => {
                // Repeat a stretch (a token or a line, often).
                let len = 1 + rng.below(40.min(out.len() - at));
                let piece = out[at..at + len].to_vec();
                let to = rng.below(out.len());
                out.splice(to..to, piece);
            }
            _ => out[at] = out[at].wrapping_add(1 + rng.below(3) as u8),
        }
    }
    out
}

#[test]
fn mutations_read_as_domain_reads_them_or_are_left_to_it() {
    let sources: [(&str, &str); 3] = [
        (EVERY_FORM, "example."),
        (include_str!("../../testdata/sec-nsec.zone"), "sec-nsec."),
        (include_str!("../../testdata/sec-nsec3.zone"), "sec-nsec3."),
    ];
    let mut rng = Seeded(0x9e37_79b9_7f4a_7c15);
    let (mut taken, mut compared) = (0, 0);
    for round in 0..10_000 {
        let (text, origin) = sources[round % sources.len()];
        let origin = wire(origin);
        // Mutate a window of a few lines so that `domain` reads every mutation quickly.
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        // Start at an entry with an owner (an indented entry needs the one before it).
        let mut from = rng.below(lines.len());
        while from > 0 && lines[from].starts_with([' ', '\t']) {
            from -= 1;
        }
        let window: String = lines[from..(from + 8).min(lines.len())].concat();
        let head = if from == 0 || rng.below(2) == 0 {
            ""
        } else {
            lines[0]
        };
        let mutated = [head.as_bytes(), &mutate(window.as_bytes(), &mut rng)].concat();
        let Ok(mine) = fast(&mutated, &origin) else {
            continue;
        };
        taken += 1;
        let theirs = general(&mutated, &origin);
        // `domain` panics on a few texts it should take (caught, reported as an error).
        if theirs.1.iter().any(|p| p.contains("scanner failed")) {
            continue;
        }
        compared += 1;
        assert_eq!(
            mine,
            theirs,
            "the readers differ on:\n{}",
            String::from_utf8_lossy(&mutated)
        );
    }
    // The comparison is only worth something if many mutations were taken.
    assert!(compared > 1200, "only {compared} of {taken} compared");
}

#[test]
fn bind_ttl_units_are_read_as_knot_and_nsd_read_them() {
    let text = b"$ORIGIN example.\n$TTL 1h\n\
        @ SOA ns1 hostmaster ( 7 2h 15M 2w 5m )\n\
        @ NS ns1\n\
        ns1 A 192.0.2.1\n\
        a 1w2d3h4m5s A 192.0.2.2\n\
        b 1D A 192.0.2.3\n\
        c 90 A 192.0.2.4\n\
        d 1h30 A 192.0.2.5\n";
    let (records, problems) = fast(text, &wire("example.")).expect("read");
    assert!(problems.is_empty(), "{problems:?}");
    let ttl_of = |owner: &str| {
        records
            .iter()
            .find(|r| r.0 == wire(owner))
            .map(|r| r.2)
            .unwrap()
    };
    assert_eq!(ttl_of("ns1.example."), 3600, "$TTL 1h");
    assert_eq!(
        ttl_of("a.example."),
        604_800 + 2 * 86_400 + 3 * 3600 + 4 * 60 + 5
    );
    assert_eq!(ttl_of("b.example."), 86_400);
    assert_eq!(ttl_of("c.example."), 90);
    assert_eq!(
        ttl_of("d.example."),
        3600 + 30,
        "a last number without a unit: seconds"
    );
    let soa = records.iter().find(|r| r.1 == 6).unwrap();
    let timers: Vec<u32> = soa.3[soa.3.len() - 20..]
        .chunks(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(
        timers,
        [7, 7200, 900, 1_209_600, 300],
        "serial, then timers in units"
    );
    for bad in ["1x", "h", "1hh", "5000000000", "99999999w"] {
        let text = format!("$ORIGIN example.\n@ SOA ns1 h 1 1 1 1 1\n@ {bad} NS ns1\n");
        assert!(fast(text.as_bytes(), &wire("example.")).is_err(), "{bad}");
    }
}
