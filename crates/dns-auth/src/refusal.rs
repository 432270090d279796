//! Transfer and NOTIFY policy: whether a zone transfer (RFC 5936, RFC 1995) or a NOTIFY
//! (RFC 1996) is served, decided from facts the daemon gathers (which listener, which
//! zone, the peer's access list, the TSIG check), and every refusal mapped to its response
//! code and Extended DNS Error (RFC 8914) here and nowhere else.

use dns_wire::types::{ede, rcode};

/// Why a transfer or a NOTIFY is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The transfer was asked on a listener that serves none (an anycast address: the
    /// session could land at another site).
    ListenerServesNoTransfers,
    /// The zone is not one of this server's.
    NotOurZone,
    /// The zone has expired (no refresh within its SOA EXPIRE).
    ZoneExpired,
    /// The peer is not in the zone's `allow-transfer` list.
    TransferNotAllowed,
    /// The request's TSIG failed, or the zone requires a key the request was not signed
    /// with.
    Tsig,
    /// A NOTIFY from a peer not in the zone's `allow-notify` list.
    NotifyNotAllowed,
    /// A NOTIFY for a zone this server is not a secondary of.
    NotifyForUnknownZone,
}

impl Refusal {
    /// The response code.
    pub fn rcode(self) -> u16 {
        match self {
            Self::ListenerServesNoTransfers
            | Self::NotOurZone
            | Self::TransferNotAllowed
            | Self::NotifyNotAllowed => rcode::REFUSED,
            Self::ZoneExpired => rcode::SERVFAIL,
            //= https://www.rfc-editor.org/rfc/rfc8945#section-5.2
            //# the server MUST generate an error response with RCODE 9 (NOTAUTH)
            Self::Tsig => rcode::NOTAUTH,
            //= https://www.rfc-editor.org/rfc/rfc1996#section-3.10
            //# If a slave receives a NOTIFY request from a host that is not a known master for
            //# the zone containing the QNAME, it should ignore the request
            // (answered NOTAUTH so the sender stops retrying, as Knot does)
            Self::NotifyForUnknownZone => rcode::NOTAUTH,
        }
    }

    /// The Extended DNS Error (RFC 8914) sent with a refused transfer; NOTIFY answers carry
    /// none.
    pub fn extended_error(self) -> Option<u16> {
        match self {
            Self::ListenerServesNoTransfers | Self::TransferNotAllowed | Self::Tsig => {
                Some(ede::PROHIBITED)
            }
            Self::NotOurZone | Self::ZoneExpired => Some(ede::NOT_AUTHORITATIVE),
            Self::NotifyNotAllowed | Self::NotifyForUnknownZone => None,
        }
    }

    /// Why, for the log.
    pub fn reason(self) -> &'static str {
        match self {
            Self::ListenerServesNoTransfers => "transfers are served on unicast addresses only",
            Self::NotOurZone => "not a zone of this server",
            Self::ZoneExpired => "zone expired",
            Self::TransferNotAllowed => "not in allow-transfer",
            Self::Tsig => "TSIG",
            Self::NotifyNotAllowed => "sender not in allow-notify",
            Self::NotifyForUnknownZone => "not a secondary zone of this server",
        }
    }
}

/// What this server has of the zone a request names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneStatus {
    /// Not served here.
    Unknown,
    /// Served, but expired.
    Expired,
    /// Served.
    Serving,
}

/// Decides whether an AXFR/IXFR request is served, in the order a refusal is reported:
/// the listener, the zone, the peer's access, and last the signature (`signature_ok` is
/// only looked at once everything else allows the transfer, so an unauthorised peer learns
/// nothing about keys).
//= https://www.rfc-editor.org/rfc/rfc5936#section-6
//# Implementations SHOULD provide means to restrict AXFR sessions to specific clients.
pub fn check_transfer(
    listener_serves_transfers: bool,
    zone: ZoneStatus,
    peer_allowed: bool,
    signature_ok: impl FnOnce() -> bool,
) -> Result<(), Refusal> {
    if !listener_serves_transfers {
        return Err(Refusal::ListenerServesNoTransfers);
    }
    match zone {
        ZoneStatus::Unknown => return Err(Refusal::NotOurZone),
        ZoneStatus::Expired => return Err(Refusal::ZoneExpired),
        ZoneStatus::Serving => {}
    }
    if !peer_allowed {
        return Err(Refusal::TransferNotAllowed);
    }
    if !signature_ok() {
        return Err(Refusal::Tsig);
    }
    Ok(())
}

/// Decides whether a NOTIFY is accepted: only for a secondary zone of ours, signed as the
/// zone requires, from a peer in its `allow-notify` list.
pub fn check_notify(
    secondary_zone: bool,
    signature_ok: bool,
    peer_allowed: bool,
) -> Result<(), Refusal> {
    if !secondary_zone {
        return Err(Refusal::NotifyForUnknownZone);
    }
    if !signature_ok {
        return Err(Refusal::Tsig);
    }
    if !peer_allowed {
        return Err(Refusal::NotifyNotAllowed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_on_anycast_listeners_are_refused_before_anything_else() {
        let refusal = check_transfer(false, ZoneStatus::Unknown, false, || false);
        assert_eq!(refusal, Err(Refusal::ListenerServesNoTransfers));
        let refusal = refusal.unwrap_err();
        assert_eq!(
            (refusal.rcode(), refusal.extended_error()),
            (rcode::REFUSED, Some(ede::PROHIBITED))
        );
    }

    #[test]
    fn unknown_and_expired_zones_are_not_authoritative() {
        let unknown = check_transfer(true, ZoneStatus::Unknown, true, || true).unwrap_err();
        assert_eq!(
            (unknown.rcode(), unknown.extended_error()),
            (rcode::REFUSED, Some(ede::NOT_AUTHORITATIVE))
        );
        let expired = check_transfer(true, ZoneStatus::Expired, true, || true).unwrap_err();
        assert_eq!(
            (expired.rcode(), expired.extended_error()),
            (rcode::SERVFAIL, Some(ede::NOT_AUTHORITATIVE))
        );
    }

    #[test]
    fn the_signature_is_checked_last_and_only_for_allowed_peers() {
        let mut asked = false;
        let refusal = check_transfer(true, ZoneStatus::Serving, false, || {
            asked = true;
            true
        });
        assert_eq!(refusal, Err(Refusal::TransferNotAllowed));
        assert!(!asked, "no key check for a peer outside allow-transfer");
        let tsig = check_transfer(true, ZoneStatus::Serving, true, || false).unwrap_err();
        assert_eq!(
            (tsig.rcode(), tsig.extended_error()),
            (rcode::NOTAUTH, Some(ede::PROHIBITED))
        );
        assert_eq!(
            check_transfer(true, ZoneStatus::Serving, true, || true),
            Ok(())
        );
    }

    #[test]
    fn test_rfc1996_3_10_notify_for_an_unknown_zone_is_notauth() {
        let refusal = check_notify(false, true, true).unwrap_err();
        assert_eq!(
            (refusal.rcode(), refusal.extended_error()),
            (rcode::NOTAUTH, None)
        );
    }

    #[test]
    fn notify_checks_the_signature_before_the_access_list() {
        assert_eq!(check_notify(true, false, false), Err(Refusal::Tsig));
        let refusal = check_notify(true, true, false).unwrap_err();
        assert_eq!(refusal.rcode(), rcode::REFUSED);
        assert_eq!(check_notify(true, true, true), Ok(()));
    }
}
