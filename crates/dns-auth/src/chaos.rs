//! CHAOS-class server identity queries (RFC 4892): id.server, hostname.bind, version.bind,
//! version.server.

use dns_wire::types::{class, rcode, rtype};
use dns_wire::{MessageWriter, Name, RdataNames};

use crate::config::AnswerConfig;

const ID_SERVER: &[u8] = b"\x02id\x06server\x00";
const HOSTNAME_BIND: &[u8] = b"\x08hostname\x04bind\x00";
const VERSION_BIND: &[u8] = b"\x07version\x04bind\x00";
const VERSION_SERVER: &[u8] = b"\x07version\x06server\x00";

/// Writes the answer to a CHAOS query and returns its rcode.
pub(crate) fn answer_chaos(
    qname: &Name,
    qtype: u16,
    config: &AnswerConfig,
    writer: &mut MessageWriter<'_>,
) -> u16 {
    let text = match qname.as_wire() {
        ID_SERVER | HOSTNAME_BIND => config.identity.as_deref(),
        VERSION_BIND | VERSION_SERVER => config.version.as_deref(),
        _ => return rcode::REFUSED,
    };
    let Some(text) = text else {
        return rcode::REFUSED;
    };
    if qtype != rtype::TXT && qtype != rtype::ANY {
        // Only TXT is served at these names: anything else is refused (as Knot does),
        // not answered with an empty authoritative NODATA that has no SOA to go with it.
        return rcode::REFUSED;
    }
    let mut rdata = [0u8; 256];
    let len = text.len().min(255);
    rdata[0] = len as u8;
    rdata[1..=len].copy_from_slice(&text[..len]);
    let owner = qname.as_wire();
    // The question is echoed first, so the owner compresses to a pointer.
    let _ = writer.push_record(
        owner,
        rtype::TXT,
        class::CH,
        0,
        &rdata[..=len],
        RdataNames::Opaque,
    );
    rcode::NOERROR
}
