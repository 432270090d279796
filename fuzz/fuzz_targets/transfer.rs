//! A secondary reading an AXFR/IXFR response stream: any bytes, cut into messages by the
//! 2-octet lengths of TCP framing, fed to the transfer reader; it must not panic, a
//! transfer it accepts must build a zone or be refused with an error, and the snapshot a
//! streaming reader writes as the records arrive must give back the zone they built.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let origin = b"\x07example\x00";
    let id = data.first().map_or(0, |&b| u16::from(b) << 8 | 0x42);
    // An odd first octet reads the way a secondary does (records straight into a zone
    // builder); an even one keeps the records.
    let streaming = data.first().is_some_and(|b| b & 1 == 1);
    let mut reader = if streaming {
        dns_auth::client::XfrReader::streaming(id, origin).keeping_snapshot(0)
    } else {
        dns_auth::client::XfrReader::new(id, origin)
    };
    let mut rest = data;
    while rest.len() >= 2 && !reader.is_done() {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let Some(message) = rest.get(2..2 + len) else {
            break;
        };
        if reader.handle_message(message).is_err() {
            return;
        }
        rest = &rest[2 + len..];
    }
    match reader.finish() {
        Ok(dns_auth::client::Transferred::Full(records)) => {
            let _ = dns_zone::zone_from_records(origin, &records);
        }
        Ok(dns_auth::client::Transferred::Streamed(builder, snapshot)) => {
            let built = builder.finish();
            if let (Ok((zone, _)), Some(snapshot)) = (built, snapshot) {
                let (stored, _) = dns_zone::decode_snapshot(&snapshot, origin)
                    .expect("the snapshot of a zone that built is read back");
                dns_zone::fuzz::assert_same_zone(
                    &stored,
                    &zone,
                    "snapshot written while streaming",
                );
            }
        }
        _ => {}
    }
});
