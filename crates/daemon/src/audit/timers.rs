//! Timers: the SOA's refresh, retry, expire and negative TTL for a fleet of secondaries,
//! record TTLs (RFC 9199's guidance), and how long the signatures have left.

use dns_wire::types::rtype;
use dns_zone::Zone;

use super::finding::{Finding, Severity};

const DAY: u32 = 86_400;

/// The SOA's REFRESH, RETRY, EXPIRE and MINIMUM (after the two names).
fn soa_timers(rdata: &[u8]) -> Option<[u32; 4]> {
    let mut at = 0;
    for _ in 0..2 {
        loop {
            let len = *rdata.get(at)? as usize;
            at += 1 + len;
            if len == 0 {
                break;
            }
        }
    }
    let field = |i: usize| {
        let start = at + 4 + 4 * i;
        rdata
            .get(start..start + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    Some([field(0)?, field(1)?, field(2)?, field(3)?])
}

fn duration(seconds: u32) -> String {
    crate::tables::duration(f64::from(seconds))
}

/// The timer findings of `zone` at `now` (Unix seconds).
pub(crate) fn findings(zone: &Zone, now: u64) -> Vec<Finding> {
    let mut findings = Vec::new();
    let name = dns_wire::name_to_text(zone.origin());
    if let Some([refresh, retry, expire, minimum]) =
        zone.soa().and_then(|soa| soa_timers(soa.first()))
    {
        let at = format!("{name} SOA");
        if expire < 7 * DAY {
            findings.push(Finding::new(
                Severity::Warning,
                "soa.expire-short",
                at.clone(),
                format!("EXPIRE {}", duration(expire)),
                "secondaries stop answering EXPIRE after their last refresh: a primary outage \
                 plus a maintenance window must fit in it (RFC 1912: 2 to 4 weeks)",
            ));
        }
        if expire <= refresh.saturating_add(retry) {
            findings.push(Finding::new(
                Severity::Error,
                "soa.expire-before-retry",
                at.clone(),
                format!(
                    "EXPIRE {} <= REFRESH {} + RETRY {}",
                    duration(expire),
                    duration(refresh),
                    duration(retry)
                ),
                "a secondary expires before it has retried once: make EXPIRE much longer",
            ));
        }
        if retry >= refresh {
            findings.push(Finding::new(
                Severity::Warning,
                "soa.retry-not-below-refresh",
                at.clone(),
                format!("RETRY {} >= REFRESH {}", duration(retry), duration(refresh)),
                "a failed refresh is retried no sooner than the next regular one: RETRY should \
                 be a fraction of REFRESH",
            ));
        }
        if refresh > 4 * 3600 {
            findings.push(Finding::new(
                Severity::Warning,
                "soa.refresh-long",
                at.clone(),
                format!("REFRESH {}", duration(refresh)),
                "a site that missed a NOTIFY learns of the new version only at REFRESH, and \
                 its stale check (which needs a newer serial to compare) stays quiet until \
                 then: an hour or less keeps a fleet's lag bounded",
            ));
        }
        if let Some(left) = zone.signatures_expire_in(now) {
            if left < i64::from(expire) {
                findings.push(Finding::new(
                    Severity::Warning,
                    "dnssec.signatures-before-expire",
                    format!("{name} RRSIG"),
                    format!(
                        "the first signature expires in {}, EXPIRE is {}",
                        crate::tables::duration(left as f64),
                        duration(expire)
                    ),
                    "a secondary cut from its primary serves the zone until EXPIRE: with \
                     signatures that expire first it serves data validators reject; keep the \
                     signature validity (and the re-signing lead) longer than EXPIRE",
                ));
            }
        }
        if minimum > 3 * 3600 {
            findings.push(Finding::new(
                Severity::Warning,
                "soa.negative-ttl-long",
                at,
                format!("negative TTL {}", duration(minimum)),
                "NXDOMAIN and NODATA are cached this long, a new name stays invisible as long \
                 (RFC 2308 §5: 1 to 3 hours)",
            ));
        }
    }
    // TTLs: very long ones outlive what resolvers keep; short NS/DNSKEY/DS ones make every
    // resolver ask the fleet again and again (RFC 9199 §4: long TTLs ride out outages).
    let mut long = None;
    let mut short_infrastructure = None;
    for node in zone.nodes() {
        for rrset in node.rrsets() {
            if rrset.ttl > 7 * DAY && long.is_none() {
                long = Some((node.name.to_vec(), rrset.rtype, rrset.ttl));
            }
            let infrastructure = matches!(rrset.rtype, rtype::NS | rtype::DNSKEY | rtype::DS);
            if infrastructure && rrset.ttl < 3600 && short_infrastructure.is_none() {
                short_infrastructure = Some((node.name.to_vec(), rrset.rtype, rrset.ttl));
            }
        }
    }
    if let Some((owner, rtype, ttl)) = long {
        findings.push(Finding::new(
            Severity::Warning,
            "ttl.over-a-week",
            format!(
                "{} {}",
                dns_wire::name_to_text(&owner),
                super::sizes::type_name(rtype)
            ),
            format!("TTL {} (first of its kind)", duration(ttl)),
            "resolvers cap TTLs at about a week (RFC 8767): longer ones only make changes \
             slower where they are honoured",
        ));
    }
    if let Some((owner, rtype, ttl)) = short_infrastructure {
        findings.push(Finding::new(
            Severity::Info,
            "ttl.short-infrastructure",
            format!(
                "{} {}",
                dns_wire::name_to_text(&owner),
                super::sizes::type_name(rtype)
            ),
            format!("TTL {} (first of its kind)", duration(ttl)),
            "NS, DNSKEY and DS are asked for on every cache miss: an hour or more lets \
             resolvers ride out an outage of the fleet (RFC 9199 §4)",
        ));
    }
    if let Some(left) = zone.signatures_expire_in(now) {
        let (severity, code) = if left < 3 * i64::from(DAY) {
            (Severity::Error, "dnssec.signatures-expire-soon")
        } else {
            (Severity::Info, "dnssec.signatures-expire")
        };
        if severity == Severity::Error || left < 7 * i64::from(DAY) {
            findings.push(Finding::new(
                if left < 7 * i64::from(DAY) && severity != Severity::Error {
                    Severity::Warning
                } else {
                    severity
                },
                code,
                format!("{name} RRSIG"),
                format!(
                    "the first signature expires in {}",
                    crate::tables::duration(left as f64)
                ),
                "validating resolvers reject expired signatures (the site goes SERVFAIL for \
                 them); re-sign well before, and transfer the signed zone to every site",
            ));
        }
    }
    findings
}
