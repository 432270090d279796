//! Messages a secondary and a primary send and read: SOA queries, AXFR/IXFR requests and
//! the reading of their responses, NOTIFY (RFC 1996) requests and responses.

use core::fmt;

use dns_wire::types::{class, rcode, rtype};
use dns_wire::{
    Header, MessageWriter, Name, Query, Record, Section, read_record, read_record_into,
};
use dns_zone::{Diff, SnapshotWriter, ZoneBuilder, rdata_names_for, soa_serial};

/// NOTIFY's opcode.
const OPCODE_NOTIFY: u16 = 4 << 11;

/// A request message: a question (and, for IXFR and NOTIFY, an SOA record).
pub fn request(
    id: u16,
    origin: &[u8],
    qtype: u16,
    notify: bool,
    soa: Option<&Record>,
    out: &mut Vec<u8>,
) {
    let mut question = Vec::with_capacity(origin.len() + 4);
    question.extend_from_slice(origin);
    question.extend_from_slice(&qtype.to_be_bytes());
    question.extend_from_slice(&class::IN.to_be_bytes());
    let flags = if notify {
        OPCODE_NOTIFY | Header::AA
    } else {
        0
    };
    let mut writer = MessageWriter::new(
        out,
        Header {
            id,
            flags,
            ..Header::default()
        },
        Some(&question),
    );
    if let Some(soa) = soa {
        //= https://www.rfc-editor.org/rfc/rfc1995#section-3
        //# The authority section of an IXFR query message has the SOA record of the client
        // (NOTIFY carries it in the answer section, RFC 1996 §3.7.)
        writer.set_section(if notify {
            Section::Answer
        } else {
            Section::Authority
        });
        let _ = writer.push_record(
            &soa.owner,
            rtype::SOA,
            class::IN,
            soa.ttl,
            &soa.rdata,
            rdata_names_for(rtype::SOA),
        );
    }
    writer.finish();
}

/// Why a response could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseError {
    /// Not a response to our query (ID, QR or question differ).
    Mismatch,
    /// The server answered with this rcode.
    Rcode(u16),
    /// The server is not authoritative (AA clear on a SOA answer).
    NotAuthoritative,
    /// The message is malformed.
    Malformed,
    /// The transfer does not follow RFC 5936 / RFC 1995.
    BadTransfer(&'static str),
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mismatch => f.write_str("response does not match the query"),
            Self::Rcode(code) => write!(f, "server answered rcode {code}"),
            Self::NotAuthoritative => f.write_str("server is not authoritative for the zone"),
            Self::Malformed => f.write_str("malformed response"),
            Self::BadTransfer(why) => write!(f, "bad transfer: {why}"),
        }
    }
}

impl std::error::Error for ResponseError {}

/// Checks that `msg` answers query `id` for `origin`, and returns its header and the
/// position after the question.
fn check_response(
    msg: &[u8],
    id: u16,
    origin: &[u8],
    first: bool,
) -> Result<(Header, usize), ResponseError> {
    let header = Header::parse(msg).ok_or(ResponseError::Malformed)?;
    if header.id != id || !header.is_response() {
        return Err(ResponseError::Mismatch);
    }
    let code = header.flags & 0xf;
    if code != rcode::NOERROR {
        return Err(ResponseError::Rcode(code));
    }
    let mut at = 12;
    if header.qdcount > 1 || (first && header.qdcount == 0) {
        return Err(ResponseError::Mismatch);
    }
    if header.qdcount == 1 {
        let (name, end) = Name::parse_compressed(msg, 12).map_err(|_| ResponseError::Malformed)?;
        if name.as_wire() != origin.to_ascii_lowercase() {
            return Err(ResponseError::Mismatch);
        }
        at = end + 4;
    }
    Ok((header, at))
}

/// The serial of the SOA in an answer to our SOA query.
pub fn read_soa_response(msg: &[u8], id: u16, origin: &[u8]) -> Result<u32, ResponseError> {
    let (header, mut at) = check_response(msg, id, origin, true)?;
    if header.flags & Header::AA == 0 {
        return Err(ResponseError::NotAuthoritative);
    }
    for _ in 0..header.ancount {
        let (record, next) = read_record(msg, at).map_err(|_| ResponseError::Malformed)?;
        at = next;
        if record.rtype == rtype::SOA && record.owner == origin.to_ascii_lowercase() {
            return soa_serial(&record.rdata).ok_or(ResponseError::Malformed);
        }
    }
    Err(ResponseError::Malformed)
}

/// How many records of `qtype` the answer section of an authoritative answer to our query
/// for `qname` holds (a CNAME chain's target records count).
pub fn read_answer_count(
    msg: &[u8],
    id: u16,
    qname: &[u8],
    qtype: u16,
) -> Result<usize, ResponseError> {
    let (header, mut at) = check_response(msg, id, qname, true)?;
    if header.flags & Header::AA == 0 {
        return Err(ResponseError::NotAuthoritative);
    }
    let mut count = 0;
    for _ in 0..header.ancount {
        let (record, next) = read_record(msg, at).map_err(|_| ResponseError::Malformed)?;
        at = next;
        if record.rtype == qtype {
            count += 1;
        }
    }
    Ok(count)
}

/// What a finished transfer brought.
#[derive(Debug)]
pub enum Transferred {
    /// The primary has nothing newer (IXFR answered with one SOA).
    UpToDate,
    /// The whole zone: records, SOA first (trailing SOA removed).
    Full(Vec<Record>),
    /// The whole zone, added to a builder as it arrived ([`XfrReader::streaming`]): call
    /// [`ZoneBuilder::finish`] for the zone. With it the zone's snapshot, written as the
    /// records arrived, when asked for ([`XfrReader::keeping_snapshot`]).
    Streamed(Box<ZoneBuilder>, Option<Vec<u8>>),
    /// Differences to apply, oldest first.
    Incremental(Vec<Diff>),
}

#[derive(Debug)]
enum Phase {
    /// Nothing read yet.
    Start,
    /// After the first SOA: the next record tells AXFR from IXFR.
    AfterFirstSoa,
    /// Reading a whole zone.
    Full,
    /// IXFR: reading removals of the current difference.
    Removing,
    /// IXFR: reading additions of the current difference.
    Adding,
    /// The final SOA was read.
    Done,
}

/// Reads the messages of an AXFR or IXFR response (sans-IO: feed each message as it
/// arrives, until [`XfrReader::is_done`]).
#[derive(Debug)]
pub struct XfrReader {
    id: u16,
    origin: Vec<u8>,
    phase: Phase,
    messages: usize,
    final_soa: Option<Record>,
    records: Vec<Record>,
    diffs: Vec<Diff>,
    /// With [`XfrReader::streaming`]: where a whole zone's records go, and the buffers
    /// each record is read into.
    builder: Option<Box<ZoneBuilder>>,
    /// Whether records went to the builder (a whole zone, not an empty one).
    streamed: bool,
    /// With [`XfrReader::keeping_snapshot`]: the snapshot of what the builder took.
    snapshot: Option<SnapshotWriter>,
    owner: Vec<u8>,
    rdata: Vec<u8>,
}

impl XfrReader {
    /// A reader for the response to query `id` for `origin`.
    pub fn new(id: u16, origin: &[u8]) -> Self {
        Self {
            id,
            origin: origin.to_ascii_lowercase(),
            phase: Phase::Start,
            messages: 0,
            final_soa: None,
            records: Vec::new(),
            diffs: Vec::new(),
            builder: None,
            streamed: false,
            snapshot: None,
            owner: Vec::new(),
            rdata: Vec::new(),
        }
    }

    /// A reader that adds the records of a whole-zone transfer (AXFR, or an IXFR answered
    /// with the whole zone) to a [`ZoneBuilder`] as they arrive, without keeping them:
    /// [`Transferred::Streamed`] instead of [`Transferred::Full`]. Differences are read as
    /// by [`XfrReader::new`].
    pub fn streaming(id: u16, origin: &[u8]) -> Self {
        Self {
            builder: Some(Box::new(ZoneBuilder::new(origin, "<axfr>"))),
            ..Self::new(id, origin)
        }
    }

    /// A streaming reader that also writes the zone's snapshot (`dns_zone::encode_snapshot`'s
    /// format) as the records arrive, so that a secondary can store it while the zone is
    /// built; `size_hint`: the octets to reserve for it.
    pub fn keeping_snapshot(mut self, size_hint: usize) -> Self {
        if self.builder.is_some() {
            self.snapshot = Some(SnapshotWriter::new(&self.origin, size_hint));
        }
        self
    }

    /// Whether the final SOA has been read.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// Reads one message of the response.
    pub fn handle_message(&mut self, msg: &[u8]) -> Result<(), ResponseError> {
        let (header, mut at) = check_response(msg, self.id, &self.origin, self.messages == 0)?;
        self.messages += 1;
        for _ in 0..header.ancount {
            if self.builder.is_some() && matches!(self.phase, Phase::Full) {
                at = self.stream_record(msg, at)?;
                continue;
            }
            let (record, next) = read_record(msg, at).map_err(|_| ResponseError::Malformed)?;
            at = next;
            self.handle_record(record)?;
        }
        // An IXFR answered with a single SOA ends after the first message.
        if matches!(self.phase, Phase::AfterFirstSoa) && header.ancount == 1 && self.messages == 1 {
            self.phase = Phase::Done;
        }
        Ok(())
    }

    fn handle_record(&mut self, record: Record) -> Result<(), ResponseError> {
        let is_soa = record.rtype == rtype::SOA && record.owner == self.origin;
        let serial = is_soa.then(|| soa_serial(&record.rdata)).flatten();
        let final_serial = self.final_soa.as_ref().and_then(|s| soa_serial(&s.rdata));
        match self.phase {
            Phase::Start => {
                if !is_soa {
                    return Err(ResponseError::BadTransfer(
                        "first record is not the zone's SOA",
                    ));
                }
                self.final_soa = Some(record);
                self.phase = Phase::AfterFirstSoa;
            }
            Phase::AfterFirstSoa if is_soa && serial != final_serial => {
                // IXFR: this SOA opens the first difference.
                self.diffs.push(Diff {
                    old_soa: record,
                    new_soa: placeholder_soa(),
                    removed: Vec::new(),
                    added: Vec::new(),
                });
                self.phase = Phase::Removing;
            }
            Phase::AfterFirstSoa if is_soa => {
                // AXFR of an empty zone (SOA, SOA) or an up-to-date IXFR.
                self.records.extend(self.final_soa.clone());
                self.phase = Phase::Done;
            }
            Phase::AfterFirstSoa => {
                match self.builder.as_mut() {
                    Some(builder) => {
                        for r in self.final_soa.iter().chain([&record]) {
                            let snapshot = self.snapshot.as_mut();
                            stream_into(
                                builder, snapshot, &r.owner, r.rtype, r.class, r.ttl, &r.rdata,
                            );
                        }
                        self.streamed = true;
                    }
                    None => {
                        self.records.extend(self.final_soa.clone());
                        self.records.push(record);
                    }
                }
                self.phase = Phase::Full;
            }
            Phase::Full if is_soa => self.phase = Phase::Done,
            Phase::Full => self.records.push(record),
            Phase::Removing if is_soa => {
                if let Some(diff) = self.diffs.last_mut() {
                    diff.new_soa = record;
                }
                self.phase = Phase::Adding;
            }
            Phase::Removing => self.current_diff()?.removed.push(record),
            Phase::Adding if is_soa && serial == final_serial => {
                self.phase = Phase::Done;
            }
            Phase::Adding if is_soa => {
                self.diffs.push(Diff {
                    old_soa: record,
                    new_soa: placeholder_soa(),
                    removed: Vec::new(),
                    added: Vec::new(),
                });
                self.phase = Phase::Removing;
            }
            Phase::Adding => self.current_diff()?.added.push(record),
            Phase::Done => return Err(ResponseError::BadTransfer("records after the final SOA")),
        }
        Ok(())
    }

    /// Phase::Full of a streaming reader: the record at `at` goes to the builder, or ends
    /// the transfer when it is the zone's SOA. Returns the position after it.
    fn stream_record(&mut self, msg: &[u8], at: usize) -> Result<usize, ResponseError> {
        let (fields, next) = read_record_into(msg, at, &mut self.owner, &mut self.rdata)
            .map_err(|_| ResponseError::Malformed)?;
        if fields.rtype == rtype::SOA && self.owner == self.origin {
            self.phase = Phase::Done;
        } else if let Some(builder) = self.builder.as_mut() {
            stream_into(
                builder,
                self.snapshot.as_mut(),
                &self.owner,
                fields.rtype,
                fields.class,
                fields.ttl,
                &self.rdata,
            );
        }
        Ok(next)
    }

    fn current_diff(&mut self) -> Result<&mut Diff, ResponseError> {
        self.diffs
            .last_mut()
            .ok_or(ResponseError::BadTransfer("difference without a SOA"))
    }

    /// What was transferred, once done.
    pub fn finish(self) -> Result<Transferred, ResponseError> {
        if !self.is_done() {
            return Err(ResponseError::BadTransfer(
                "transfer ended before the final SOA",
            ));
        }
        if !self.diffs.is_empty() {
            return Ok(Transferred::Incremental(self.diffs));
        }
        if let (true, Some(builder)) = (self.streamed, self.builder) {
            let snapshot = self.snapshot.map(SnapshotWriter::finish);
            return Ok(Transferred::Streamed(builder, snapshot));
        }
        if self.records.is_empty() || (self.records.len() == 1 && self.messages == 1) {
            return Ok(Transferred::UpToDate);
        }
        Ok(Transferred::Full(self.records))
    }
}

/// Adds a record of a whole-zone transfer to `builder`, and to `snapshot` when the
/// builder took it (a snapshot holds what its zone holds).
fn stream_into(
    builder: &mut ZoneBuilder,
    snapshot: Option<&mut SnapshotWriter>,
    owner: &[u8],
    rtype: u16,
    rclass: u16,
    ttl: u32,
    rdata: &[u8],
) {
    if builder.add(owner, rtype, rclass, ttl, rdata) {
        if let Some(snapshot) = snapshot {
            snapshot.add(owner, rtype, rclass, ttl, rdata);
        }
    }
}

/// Stands in for a difference's closing SOA until it is read.
fn placeholder_soa() -> Record {
    Record {
        owner: vec![0],
        rtype: rtype::SOA,
        class: class::IN,
        ttl: 0,
        rdata: Vec::new(),
    }
}

/// A NOTIFY request as received.
#[derive(Debug, PartialEq, Eq)]
pub struct NotifyRequest {
    /// The zone, lowercased wire form.
    pub zone: Vec<u8>,
    /// The serial the primary announced, if it sent one.
    pub serial: Option<u32>,
}

/// Reads a NOTIFY request (RFC 1996 §3): opcode NOTIFY, one SOA question, optional SOA
/// answer.
pub fn read_notify(msg: &[u8]) -> Option<NotifyRequest> {
    let query = Query::parse(msg).ok()?;
    if query.header.opcode_bits() != 4 || query.qtype != rtype::SOA {
        return None;
    }
    let mut at = query.question_end;
    let mut serial = None;
    for _ in 0..query.header.ancount {
        let (record, next) = read_record(msg, at).ok()?;
        at = next;
        if record.rtype == rtype::SOA {
            serial = soa_serial(&record.rdata);
        }
    }
    Some(NotifyRequest {
        zone: query.qname.as_wire().to_vec(),
        serial,
    })
}

/// The response to a NOTIFY request (RFC 1996 §4.7): question echoed, AA, `code`.
pub fn notify_response(msg: &[u8], code: u16, out: &mut Vec<u8>) -> Option<usize> {
    let query = Query::parse(msg).ok()?;
    // AA on an accepted NOTIFY only (a refusal speaks for no zone), as Knot answers.
    let aa = if code == rcode::NOERROR {
        Header::AA
    } else {
        0
    };
    let flags = Header::QR | aa | OPCODE_NOTIFY | (code & 0x000f);
    let mut writer = MessageWriter::new(
        out,
        Header {
            flags,
            ..query.header
        },
        Some(query.question_bytes(msg)),
    );
    //= https://www.rfc-editor.org/rfc/rfc6891#section-7
    //# responders ... that implement EDNS MUST include an OPT record in the response
    if query.edns.is_some() {
        writer
            .push_opt(crate::DEFAULT_UDP_PAYLOAD, (code >> 4) as u8, false, &[])
            .ok()?;
    }
    Some(writer.finish())
}

/// Whether `msg` is a successful response to our NOTIFY `id`.
pub fn read_notify_response(msg: &[u8], id: u16, origin: &[u8]) -> Result<(), ResponseError> {
    let (header, _) = check_response(msg, id, origin, true)?;
    if header.opcode_bits() != 4 {
        return Err(ResponseError::Mismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xfr::{XfrPlan, XfrResponse};
    use dns_zone::{diff, load_zone_str};

    fn zone(serial: u32, extra: &str) -> dns_zone::Zone {
        let text = format!(
            "$ORIGIN example.\n$TTL 300\n@ SOA ns hm {serial} 2 3 4 60\n@ NS ns\nns A 192.0.2.1\n{extra}"
        );
        load_zone_str(&text, b"\x07example\x00").unwrap().0
    }

    fn transfer(plan_zone: &dns_zone::Zone, plan: XfrPlan<'_>) -> Transferred {
        let question = b"\x07example\x00\x00\xfb\x00\x01";
        let mut response = XfrResponse::new(
            Header {
                id: 77,
                ..Header::default()
            },
            question,
            plan_zone,
            plan,
        );
        let mut reader = XfrReader::new(77, b"\x07EXAMPLE\x00");
        let mut out = Vec::new();
        while response.next_message(&mut out) {
            reader.handle_message(&out).unwrap();
        }
        reader.finish().unwrap()
    }

    #[test]
    fn a_streaming_reader_builds_the_zone_the_records_build() {
        // Many names (several messages), names in RDATA, a second RRset at one owner.
        let extra: String = (0..3000)
            .map(|i| format!("h{i} A 192.0.2.{}\nh{i} MX 10 mail{i}\n", i % 250))
            .collect();
        let v1 = zone(9, &extra);
        let question = b"\x07example\x00\x00\xfc\x00\x01";
        let mut response = XfrResponse::new(
            Header {
                id: 78,
                ..Header::default()
            },
            question,
            &v1,
            XfrPlan::Full,
        );
        let (mut kept, mut streamed) = (
            XfrReader::new(78, b"\x07example\x00"),
            XfrReader::streaming(78, b"\x07example\x00").keeping_snapshot(1 << 16),
        );
        let mut out = Vec::new();
        let mut messages = 0;
        while response.next_message(&mut out) {
            kept.handle_message(&out).unwrap();
            streamed.handle_message(&out).unwrap();
            messages += 1;
        }
        assert!(messages > 1, "{messages}");
        let Transferred::Full(records) = kept.finish().unwrap() else {
            panic!()
        };
        let Transferred::Streamed(builder, Some(snapshot)) = streamed.finish().unwrap() else {
            panic!()
        };
        let (from_records, _) = dns_zone::zone_from_records(b"\x07example\x00", &records).unwrap();
        let (from_stream, _) = builder.finish().unwrap();
        assert_eq!(from_stream.serial(), 9);
        assert_eq!(from_stream.record_count(), v1.record_count());
        let listing = |z: &dns_zone::Zone| -> Vec<(Vec<u8>, u16, u32, Vec<u8>)> {
            z.records()
                .map(|r| (r.owner.to_vec(), r.rtype, r.ttl, r.rdata.to_vec()))
                .collect()
        };
        assert_eq!(listing(&from_stream), listing(&from_records));
        assert_eq!(listing(&from_stream), listing(&v1));
        // The snapshot written as the records arrived gives back the same zone.
        let (from_snapshot, problems) =
            dns_zone::decode_snapshot(&snapshot, b"\x07example\x00").unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(listing(&from_snapshot), listing(&v1));
        // An up-to-date answer and differences read the same in both modes.
        let mut up = XfrReader::streaming(77, b"\x07example\x00");
        let mut response = XfrResponse::new(
            Header {
                id: 77,
                ..Header::default()
            },
            question,
            &v1,
            XfrPlan::UpToDate,
        );
        while response.next_message(&mut out) {
            up.handle_message(&out).unwrap();
        }
        assert!(matches!(up.finish().unwrap(), Transferred::UpToDate));
    }

    #[test]
    fn reads_axfr_ixfr_and_up_to_date_responses() {
        let v1 = zone(1, "a A 192.0.2.10\n");
        let v2 = zone(2, "b A 192.0.2.11\n");
        let Transferred::Full(records) = transfer(&v2, XfrPlan::Full) else {
            panic!()
        };
        assert_eq!(records.len(), v2.record_count());
        assert_eq!(records[0].rtype, rtype::SOA);
        let journal = [diff(&v1, &v2).unwrap()];
        let Transferred::Incremental(diffs) =
            transfer(&v2, XfrPlan::Incremental(vec![&journal[0]]))
        else {
            panic!()
        };
        assert_eq!(diffs, journal.to_vec());
        assert!(matches!(
            transfer(&v2, XfrPlan::UpToDate),
            Transferred::UpToDate
        ));
    }

    #[test]
    fn rejects_broken_transfers() {
        let mut reader = XfrReader::new(1, b"\x07example\x00");
        let mut out = Vec::new();
        request(2, b"\x07example\x00", rtype::AXFR, false, None, &mut out);
        out[2] |= 0x80;
        assert_eq!(reader.handle_message(&out), Err(ResponseError::Mismatch));
        let reader = XfrReader::new(1, b"\x07example\x00");
        assert!(reader.finish().is_err());
    }

    #[test]
    fn answer_counts_of_a_probe_name() {
        let mut zones = dns_zone::ZoneSet::new();
        zones.insert(std::sync::Arc::new(zone(
            5,
            "www A 192.0.2.80\nwww A 192.0.2.81\nalias CNAME www\n",
        )));
        let ask = |name: &[u8], qtype: u16| {
            let mut query = Vec::new();
            request(9, name, qtype, false, None, &mut query);
            let mut answer = Vec::new();
            crate::respond(
                &query,
                &zones,
                &crate::AnswerConfig::default(),
                crate::Transport::Udp,
                &mut answer,
            );
            read_answer_count(&answer, 9, name, qtype)
        };
        assert_eq!(ask(b"\x03www\x07example\x00", rtype::A), Ok(2));
        assert_eq!(ask(b"\x05alias\x07example\x00", rtype::A), Ok(2));
        assert_eq!(ask(b"\x03www\x07example\x00", rtype::AAAA), Ok(0));
        assert_eq!(
            ask(b"\x04gone\x07example\x00", rtype::A),
            Err(ResponseError::Rcode(rcode::NXDOMAIN))
        );
        assert_eq!(
            ask(b"\x03www\x05other\x00", rtype::A),
            Err(ResponseError::Rcode(rcode::REFUSED))
        );
    }

    #[test]
    fn soa_query_and_notify_round_trip() {
        let v1 = zone(5, "");
        let mut query = Vec::new();
        request(42, v1.origin(), rtype::SOA, false, None, &mut query);
        let mut answer = Vec::new();
        crate::respond(
            &query,
            &{
                let mut s = dns_zone::ZoneSet::new();
                s.insert(std::sync::Arc::new(zone(5, "")));
                s
            },
            &crate::AnswerConfig::default(),
            crate::Transport::Udp,
            &mut answer,
        );
        assert_eq!(read_soa_response(&answer, 42, v1.origin()), Ok(5));
        let mut notify = Vec::new();
        request(
            43,
            v1.origin(),
            rtype::SOA,
            true,
            v1.soa_record().as_ref(),
            &mut notify,
        );
        assert_eq!(
            read_notify(&notify),
            Some(NotifyRequest {
                zone: v1.origin().to_vec(),
                serial: Some(5)
            })
        );
        let mut response = Vec::new();
        notify_response(&notify, rcode::NOERROR, &mut response).unwrap();
        assert_eq!(read_notify_response(&response, 43, v1.origin()), Ok(()));
        assert!(Header::parse(&response).unwrap().flags & Header::AA != 0);
        // A refusal: no AA.
        notify_response(&notify, rcode::NOTAUTH, &mut response).unwrap();
        let header = Header::parse(&response).unwrap();
        assert_eq!(
            (header.flags & Header::AA, header.flags & 0xf),
            (0, rcode::NOTAUTH)
        );
    }

    #[test]
    fn test_6891_7_a_notify_with_opt_gets_an_answer_with_opt() {
        let v1 = zone(5, "");
        let mut notify = Vec::new();
        request(
            44,
            v1.origin(),
            rtype::SOA,
            true,
            v1.soa_record().as_ref(),
            &mut notify,
        );
        // The request's records, then an OPT (payload 1232).
        notify.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
        let arcount = u16::from_be_bytes([notify[10], notify[11]]) + 1;
        notify[10..12].copy_from_slice(&arcount.to_be_bytes());
        let mut response = Vec::new();
        notify_response(&notify, rcode::NOERROR, &mut response).unwrap();
        let parsed = dns_wire::Response::parse(&response).unwrap();
        assert!(parsed.edns.is_some(), "an OPT in the answer");
        let mut plain = notify.clone();
        plain.truncate(plain.len() - 11);
        plain[10..12].copy_from_slice(&(arcount - 1).to_be_bytes());
        notify_response(&plain, rcode::NOERROR, &mut response).unwrap();
        assert!(dns_wire::Response::parse(&response).unwrap().edns.is_none());
    }
}
