//! Serving zone transfers: AXFR (RFC 5936) and IXFR (RFC 1995) responses as a sequence of
//! TCP messages, produced one at a time into a reused buffer.
//!
//! ```text
//!  AXFR:  SOA  all other records ...  SOA                 (split over messages)
//!  IXFR:  SOA(new)  [SOA(old) removed... SOA(next) added...]...  SOA(new)
//!         or one SOA when the client is up to date; AXFR form when history is missing
//! ```
//! Policy (listener role, ACL, TSIG) is the caller's: this module only says what to send.

use dns_wire::types::{class, rtype};
use dns_wire::{Header, MessageWriter, Record, Section};
use dns_zone::{Diff, RecordRef, Zone, rdata_names_for, soa_serial};

use crate::serial::Serial;

/// Largest transfer message we build: room under the 65535 limit for a TSIG record.
pub const MAX_XFR_MESSAGE: usize = 65535 - 512;

/// How a transfer request will be answered.
#[derive(Debug)]
pub enum XfrPlan<'j> {
    /// Whole zone (AXFR, or IXFR without usable history).
    Full,
    /// The client has our serial (or a newer one): one SOA.
    UpToDate,
    /// These differences, oldest first, bring the client to our serial.
    Incremental(Vec<&'j Diff>),
}

/// Chooses the answer to an IXFR from `client_serial` given the journal (oldest first).
pub fn plan_ixfr<'j>(zone: &Zone, client_serial: u32, journal: &'j [Diff]) -> XfrPlan<'j> {
    //= https://www.rfc-editor.org/rfc/rfc1995#section-2
    //# If an IXFR query with the same or newer version number than that of the server is
    //# received, it is replied to with a single SOA record of the server's current version
    if !Serial(client_serial).is_older_than(Serial(zone.serial())) {
        return XfrPlan::UpToDate;
    }
    let Some(start) = journal
        .iter()
        .position(|d| d.from_serial() == client_serial)
    else {
        return XfrPlan::Full;
    };
    // Up to the served version: the journal may already hold the difference to a version
    // about to be served (it is recorded first, so that version can be sent as one).
    let Some(end) = journal[start..]
        .iter()
        .position(|d| d.to_serial() == zone.serial())
    else {
        return XfrPlan::Full;
    };
    let chain: Vec<&Diff> = journal[start..=start + end].iter().collect();
    let linked = chain
        .windows(2)
        .all(|w| w[0].to_serial() == w[1].from_serial());
    if linked {
        XfrPlan::Incremental(chain)
    } else {
        XfrPlan::Full
    }
}

/// One record to send, borrowed from the zone or a journal entry.
#[derive(Clone, Copy)]
struct Item<'a> {
    owner: &'a [u8],
    rtype: u16,
    ttl: u32,
    rdata: &'a [u8],
}

impl<'a> From<RecordRef<'a>> for Item<'a> {
    fn from(r: RecordRef<'a>) -> Self {
        Self {
            owner: r.owner,
            rtype: r.rtype,
            ttl: r.ttl,
            rdata: r.rdata,
        }
    }
}

impl<'a> From<&'a Record> for Item<'a> {
    fn from(r: &'a Record) -> Self {
        Self {
            owner: &r.owner,
            rtype: r.rtype,
            ttl: r.ttl,
            rdata: &r.rdata,
        }
    }
}

/// Produces the messages of one transfer response.
pub struct XfrResponse<'a> {
    header: Header,
    question: &'a [u8],
    items: Box<dyn Iterator<Item = Item<'a>> + Send + 'a>,
    held: Option<Item<'a>>,
    first: bool,
    done: bool,
}

/// Names a transfer message remembers for compression: the first few, which hold the
/// zone's origin (see [`MessageWriter::limit_compression`]).
const XFR_COMPRESSION_SLOTS: usize = 8;

impl<'a> XfrResponse<'a> {
    /// The response to a query with `header` and `question` (verbatim bytes), following
    /// `plan` for `zone`.
    pub fn new(header: Header, question: &'a [u8], zone: &'a Zone, plan: XfrPlan<'a>) -> Self {
        let soa = zone.records().next().map(Item::from);
        let items: Box<dyn Iterator<Item = Item<'a>> + Send + 'a> = match plan {
            XfrPlan::UpToDate => Box::new(soa.into_iter()),
            XfrPlan::Full => Box::new(zone.records().map(Item::from).chain(soa)),
            XfrPlan::Incremental(diffs) => Box::new(
                soa.into_iter()
                    .chain(diffs.into_iter().flat_map(|d| {
                        std::iter::once(Item::from(&d.old_soa))
                            .chain(d.removed.iter().map(Item::from))
                            .chain(std::iter::once(Item::from(&d.new_soa)))
                            .chain(d.added.iter().map(Item::from))
                    }))
                    .chain(soa),
            ),
        };
        let flags = Header::QR | Header::AA | (header.flags & 0x7800);
        Self {
            header: Header { flags, ..header },
            question,
            items,
            held: None,
            first: true,
            done: false,
        }
    }

    /// Writes the next message into `out`; `false` when the response is complete.
    pub fn next_message(&mut self, out: &mut Vec<u8>) -> bool {
        if self.done {
            return false;
        }
        //= https://www.rfc-editor.org/rfc/rfc5936#section-2.2.1
        //# the question section ... MUST be copied ... in the first message; subsequent
        //# messages MAY ... omit it
        let question = self.first.then_some(self.question);
        self.first = false;
        let mut writer = MessageWriter::new(out, self.header, question);
        writer.limit_compression(XFR_COMPRESSION_SLOTS);
        writer.set_section(Section::Answer);
        let mut count = 0;
        loop {
            let Some(item) = self.held.take().or_else(|| self.items.next()) else {
                self.done = true;
                break;
            };
            let checkpoint = writer.checkpoint();
            let pushed = writer.push_record(
                item.owner,
                item.rtype,
                class::IN,
                item.ttl,
                item.rdata,
                rdata_names_for(item.rtype),
            );
            if (pushed.is_err() || writer.len() > MAX_XFR_MESSAGE) && count > 0 {
                writer.rollback(checkpoint);
                self.held = Some(item);
                break;
            }
            count += 1;
        }
        writer.finish();
        true
    }
}

/// The serial in the SOA of an IXFR query's authority section (RFC 1995 §3).
pub fn ixfr_client_serial(msg: &[u8], question_end: usize, header: &Header) -> Option<u32> {
    let mut at = question_end;
    for _ in 0..header.ancount {
        at = dns_wire::read_record(msg, at).ok()?.1;
    }
    (0..header.nscount).find_map(|_| {
        let (record, next) = dns_wire::read_record(msg, at).ok()?;
        at = next;
        (record.rtype == rtype::SOA)
            .then(|| soa_serial(&record.rdata))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dns_zone::{diff, load_zone_str};

    fn zone(serial: u32, extra: &str) -> Zone {
        let text = format!(
            "$ORIGIN example.\n$TTL 300\n@ SOA ns hm {serial} 2 3 4 60\n@ NS ns\nns A 192.0.2.1\n{extra}"
        );
        load_zone_str(&text, b"\x07example\x00").unwrap().0
    }

    fn messages(response: &mut XfrResponse<'_>) -> Vec<Vec<u8>> {
        let mut all = Vec::new();
        let mut out = Vec::new();
        while response.next_message(&mut out) {
            all.push(out.clone());
        }
        all
    }

    fn records(messages: &[Vec<u8>]) -> Vec<Record> {
        let mut all = Vec::new();
        for (i, msg) in messages.iter().enumerate() {
            let header = Header::parse(msg).unwrap();
            assert_eq!(header.qdcount, u16::from(i == 0));
            let mut at = 12;
            if header.qdcount == 1 {
                at = dns_wire::Name::parse_uncompressed(msg, 12).unwrap().1 + 4;
            }
            for _ in 0..header.ancount {
                let (record, next) = dns_wire::read_record(msg, at).unwrap();
                all.push(record);
                at = next;
            }
            assert_eq!(at, msg.len());
        }
        all
    }

    const QUESTION: &[u8] = b"\x07example\x00\x00\xfc\x00\x01";

    #[test]
    fn test_5936_axfr_starts_and_ends_with_soa_and_splits_big_zones() {
        let mut extra = String::new();
        for i in 0..3000 {
            extra.push_str(&format!("host{i} TXT \"{}\"\n", "x".repeat(40)));
        }
        let z = zone(7, &extra);
        let mut response = XfrResponse::new(
            Header {
                id: 9,
                ..Header::default()
            },
            QUESTION,
            &z,
            XfrPlan::Full,
        );
        let msgs = messages(&mut response);
        assert!(msgs.len() > 1, "a 3000-record zone needs several messages");
        assert!(
            msgs.iter()
                .all(|m| m.len() <= MAX_XFR_MESSAGE && m[0..2] == [0, 9])
        );
        let all = records(&msgs);
        assert_eq!(all.len(), z.record_count() + 1);
        assert_eq!(all.first().unwrap().rtype, rtype::SOA);
        assert_eq!(all.last().unwrap().rtype, rtype::SOA);
    }

    #[test]
    fn test_1995_ixfr_plans() {
        let v1 = zone(1, "a A 192.0.2.10\n");
        let v2 = zone(2, "b A 192.0.2.11\n");
        let v3 = zone(3, "b A 192.0.2.11\nc A 192.0.2.12\n");
        let journal = vec![diff(&v1, &v2).unwrap(), diff(&v2, &v3).unwrap()];
        assert!(matches!(plan_ixfr(&v3, 3, &journal), XfrPlan::UpToDate));
        assert!(matches!(plan_ixfr(&v3, 4, &journal), XfrPlan::UpToDate));
        assert!(matches!(plan_ixfr(&v3, 0, &journal), XfrPlan::Full));
        let XfrPlan::Incremental(chain) = plan_ixfr(&v3, 1, &journal) else {
            panic!()
        };
        assert_eq!(chain.len(), 2);
        let mut response = XfrResponse::new(
            Header::default(),
            QUESTION,
            &v3,
            XfrPlan::Incremental(chain),
        );
        let all = records(&messages(&mut response));
        let serials: Vec<_> = all
            .iter()
            .filter(|r| r.rtype == rtype::SOA)
            .map(|r| soa_serial(&r.rdata).unwrap())
            .collect();
        assert_eq!(serials, vec![3, 1, 2, 2, 3, 3]);
        // SOA(3) SOA(1) -a SOA(2) +b SOA(2) SOA(3) +c SOA(3)
        assert_eq!(all.len(), 9);
        // A journal that already leads to the version about to be served: the chain ends
        // at the served one.
        let XfrPlan::Incremental(chain) = plan_ixfr(&v2, 1, &journal) else {
            panic!("a difference ahead of the served version forces no full transfer")
        };
        assert_eq!(chain.len(), 1);
        assert_eq!(chain[0].to_serial(), 2);
        let gap = vec![diff(&v1, &v2).unwrap(), diff(&v1, &v3).unwrap()];
        assert!(matches!(plan_ixfr(&v3, 1, &gap[..1]), XfrPlan::Full));
        assert!(
            matches!(plan_ixfr(&v3, 2, &gap), XfrPlan::Full),
            "no difference from 2"
        );
    }
}
