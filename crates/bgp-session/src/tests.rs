//! Scenario tests on the two-peer simulator, in virtual time (no sleeps).

use std::net::Ipv4Addr;
use std::time::Duration;

use bgp_wire::{
    AsPath, Community, Error, Family, LargeCommunity, Message, MpNextHop, Negotiated, Notification,
    Origin, Prefix, RouteRefresh,
};

use crate::config::{PeerConfig, PeerSettings};
use crate::fsm::{Command, DownReason, Session, SessionEvent, State};
use crate::sim::{Pair, Side, epoch, settings};

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A message with a header around `body`.
fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0xff; 16];
    v.extend_from_slice(&u16::try_from(body.len() + 19).unwrap().to_be_bytes());
    v.push(kind);
    v.extend_from_slice(body);
    v
}

/// (code, subcode) of every NOTIFICATION a side received.
fn notifications(side: &Side) -> Vec<(u8, u8)> {
    side.received
        .iter()
        .filter_map(|m| match m {
            Message::Notification(n) => Some((n.code, n.subcode)),
            _ => None,
        })
        .collect()
}

fn down_reasons(side: &Side) -> Vec<DownReason> {
    side.events
        .iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::Down { reason } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn test_8_2_2_both_active_sessions_establish() {
    let pair = Pair::established();
    for side in [&pair.a, &pair.b] {
        assert!(side.saw(|e| matches!(
            e,
            SessionEvent::Established { hold_time, families, .. }
                if *hold_time == secs(90)
                    && *families == vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]
        )));
        let kinds: Vec<_> = side.received.iter().map(Message::kind).collect();
        assert_eq!(kinds.len(), 4, "OPEN, KEEPALIVE, two End-of-RIB: {kinds:?}");
        let eor: Vec<_> = side
            .received
            .iter()
            .filter_map(|m| match m {
                Message::Update(u) => u.end_of_rib_family(),
                _ => None,
            })
            .collect();
        assert_eq!(eor, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
        assert_eq!(side.session.stats().established, 1);
    }
}

#[test]
fn test_8_2_2_passive_side_waits_for_the_connection() {
    let mut b = settings(false);
    b.passive = true;
    let mut pair = Pair::new(settings(true), b);
    pair.command(false, Command::Start);
    assert_eq!(pair.b.session.state(), State::Active);
    assert!(pair.b.connect_times().is_empty());
    pair.command(true, Command::Start);
    assert_eq!(pair.a.session.state(), State::Established);
    assert_eq!(pair.b.session.state(), State::Established);
}

#[test]
fn test_4_2_hold_time_is_the_smaller_and_keepalive_a_third() {
    let mut a = settings(true);
    a.hold_time = secs(30);
    let mut pair = Pair::new(a, settings(false));
    pair.start_both();
    assert!(pair.b.saw(|e| matches!(
        e,
        SessionEvent::Established { hold_time, .. } if *hold_time == secs(30)
    )));
    let before = pair.b.received.len();
    pair.advance(secs(60));
    let keepalives = pair.b.received[before..]
        .iter()
        .filter(|m| **m == Message::Keepalive)
        .count();
    assert_eq!(keepalives, 6, "one every 10 s");
    assert_eq!(pair.a.session.state(), State::Established);
}

#[test]
fn test_8_2_2_connect_retry_timer_retries() {
    let mut pair = Pair::new(settings(true), settings(false));
    pair.command(true, Command::Start);
    assert_eq!(pair.a.session.state(), State::Active, "peer not listening");
    pair.advance(secs(25));
    let t0 = pair.a.connect_times()[0];
    let offsets: Vec<_> = pair.a.connect_times().iter().map(|t| *t - t0).collect();
    assert_eq!(offsets, vec![secs(0), secs(10), secs(20)]);
}

#[test]
fn test_9_2_announce_and_withdraw_arrive_as_updates() {
    let mut pair = Pair::established();
    pair.command(true, Command::Announce(p("203.0.113.0/24")));
    let updates = pair.b.updates();
    assert_eq!(updates.len(), 1);
    let u = updates[0];
    assert_eq!(u.nlri, vec![p("203.0.113.0/24")]);
    assert_eq!(u.attributes.origin, Some(Origin::Igp));
    assert_eq!(u.attributes.as_path, Some(AsPath::sequence(vec![65001])));
    assert_eq!(u.attributes.next_hop, Some(Ipv4Addr::new(198, 51, 100, 1)));
    assert_eq!(u.attributes.local_pref, None, "eBGP");

    // The same command again changes nothing and sends nothing.
    pair.command(true, Command::Announce(p("203.0.113.0/24")));
    assert_eq!(pair.b.updates().len(), 1);

    pair.command(true, Command::Withdraw(p("203.0.113.0/24")));
    let updates = pair.b.updates();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[1].withdrawn, vec![p("203.0.113.0/24")]);
    assert!(updates[1].nlri.is_empty());
    pair.command(true, Command::Withdraw(p("203.0.113.0/24")));
    assert_eq!(pair.b.updates().len(), 2);

    let stats = pair.b.session.stats();
    assert_eq!(
        (stats.prefixes_received, stats.withdrawals_received),
        (1, 1)
    );
}

#[test]
fn test_rfc2545_ipv6_announce_and_withdraw() {
    let mut pair = Pair::established();
    pair.command(true, Command::Announce(p("2001:db8:53::/48")));
    pair.command(true, Command::Withdraw(p("2001:db8:53::/48")));
    let updates = pair.b.updates();
    let reach = updates[0].attributes.mp_reach.as_ref().unwrap();
    assert_eq!(reach.family, Family::IPV6_UNICAST);
    assert_eq!(reach.nlri, vec![p("2001:db8:53::/48")]);
    assert_eq!(
        reach.next_hop,
        MpNextHop::Ipv6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None
        }
    );
    assert!(updates[0].nlri.is_empty() && updates[0].attributes.next_hop.is_none());
    let unreach = updates[1].attributes.mp_unreach.as_ref().unwrap();
    assert_eq!(unreach.withdrawn, vec![p("2001:db8:53::/48")]);
}

#[test]
fn initial_set_goes_out_before_end_of_rib_with_configured_attributes() {
    let mut a = settings(true);
    a.prepend = 2;
    a.med = Some(50);
    a.communities = vec![Community::new(65001, 53)];
    a.large_communities = vec![LargeCommunity {
        global_admin: 65001,
        local_data_1: 0,
        local_data_2: 53,
    }];
    a.no_export = true;
    let mut pair = Pair::new(a, settings(false));
    pair.command(true, Command::Announce(p("192.0.2.0/24")));
    pair.command(true, Command::Announce(p("203.0.113.0/24")));
    pair.start_both();
    let after_keepalive: Vec<_> = pair.b.received.iter().skip(2).collect();
    let Message::Update(first) = after_keepalive[0] else {
        panic!("expected UPDATE: {after_keepalive:?}");
    };
    assert_eq!(first.nlri, vec![p("192.0.2.0/24"), p("203.0.113.0/24")]);
    let attrs = &first.attributes;
    assert_eq!(attrs.as_path, Some(AsPath::sequence(vec![65001; 3])));
    assert_eq!(attrs.med, Some(50));
    assert_eq!(
        attrs.communities,
        vec![Community::new(65001, 53), Community::NO_EXPORT]
    );
    assert_eq!(attrs.large_communities.len(), 1);
    let Message::Update(eor) = after_keepalive[1] else {
        panic!("expected End-of-RIB");
    };
    assert_eq!(eor.end_of_rib_family(), Some(Family::IPV4_UNICAST));
}

#[test]
fn announce_outside_allow_list_is_refused() {
    let mut pair = Pair::established();
    pair.command(true, Command::Announce(p("10.0.0.0/8")));
    assert!(
        pair.a
            .saw(|e| *e == SessionEvent::AnnounceRefused(p("10.0.0.0/8")))
    );
    assert!(pair.b.updates().is_empty());
}

#[test]
fn test_rfc8326_graceful_shutdown_attaches_65535_0() {
    let mut pair = Pair::established();
    pair.command(true, Command::Announce(p("203.0.113.0/24")));
    pair.command(true, Command::GracefulShutdown(p("203.0.113.0/24")));
    let updates = pair.b.updates();
    assert_eq!(updates.len(), 2);
    assert!(updates[0].attributes.communities.is_empty());
    assert_eq!(updates[1].nlri, vec![p("203.0.113.0/24")]);
    assert_eq!(
        updates[1].attributes.communities,
        vec![Community::GRACEFUL_SHUTDOWN]
    );
    assert_eq!(Community::GRACEFUL_SHUTDOWN, Community::new(65535, 0));
}

#[test]
fn test_rfc2918_route_refresh_resends_everything() {
    let mut pair = Pair::established();
    pair.command(true, Command::Announce(p("203.0.113.0/24")));
    pair.command(true, Command::Announce(p("2001:db8:53::/48")));
    assert_eq!(pair.b.updates().len(), 2);
    let mut bytes = Vec::new();
    Message::RouteRefresh(RouteRefresh::new(Family::IPV4_UNICAST))
        .emit(&mut bytes, Negotiated::FOUR_OCTET_AS)
        .unwrap();
    pair.inject(true, &bytes);
    let updates = pair.b.updates();
    assert_eq!(updates.len(), 3);
    assert_eq!(updates[2].nlri, vec![p("203.0.113.0/24")]);
    // A family that was not negotiated is ignored.
    let mut bytes = Vec::new();
    Message::RouteRefresh(RouteRefresh::new(Family { afi: 25, safi: 65 }))
        .emit(&mut bytes, Negotiated::FOUR_OCTET_AS)
        .unwrap();
    pair.inject(true, &bytes);
    assert_eq!(pair.b.updates().len(), 3);
    assert_eq!(pair.a.session.stats().route_refreshes_received, 2);
}

#[test]
fn test_6_5_hold_timer_expiry_sends_4_0_and_goes_idle() {
    let mut pair = Pair::established();
    pair.a.drop_output = true;
    pair.advance(secs(89));
    assert_eq!(pair.b.session.state(), State::Established);
    pair.advance(secs(2));
    assert_eq!(pair.b.session.state(), State::Idle);
    assert_eq!(down_reasons(&pair.b), vec![DownReason::HoldTimerExpired]);
    assert_eq!(notifications(&pair.a), vec![(4, 0)]);
    assert!(matches!(
        &down_reasons(&pair.a)[..],
        [DownReason::NotificationReceived(n)] if n.code == 4
    ));
}

#[test]
fn keepalives_hold_the_session_for_hours() {
    let mut pair = Pair::established();
    pair.advance(secs(3 * 3600));
    assert_eq!(pair.a.session.state(), State::Established);
    assert_eq!(pair.b.session.state(), State::Established);
    assert_eq!(pair.a.session.stats().downs, 0);
}

/// Malformed or unexpected input earns the right NOTIFICATION and takes the session down.
#[test]
fn test_6_malformed_messages_get_the_right_notification() {
    let open_body = [4, 0xfd, 0xea, 0, 90, 192, 0, 2, 2, 0];
    let cases: &[(Vec<u8>, (u8, u8))] = &[
        (vec![0; 19], (1, 1)),
        (frame(4, &[0]), (1, 2)),
        (frame(7, &[]), (1, 3)),
        (frame(2, &[0, 0, 0, 9, 0x40, 1, 1, 0]), (3, 1)),
        (frame(2, &[0, 0, 0, 3, 0x40, 99, 0]), (3, 2)),
        (frame(2, &[0, 0, 0, 0, 33, 1, 2, 3, 4, 5]), (3, 10)),
        (frame(1, &open_body), (5, 3)),
        (frame(5, &[0, 1, 2, 1, 0]), (7, 1)),
    ];
    for (bytes, code) in cases {
        let mut pair = Pair::established();
        pair.inject(false, bytes);
        assert_eq!(pair.b.session.state(), State::Idle, "{bytes:?}");
        assert_eq!(notifications(&pair.a), vec![*code], "{bytes:?}");
        assert_eq!(pair.a.session.state(), State::Idle, "{bytes:?}");
    }
}

#[test]
fn test_rfc7606_treat_as_withdraw_keeps_the_session() {
    let mut pair = Pair::established();
    // ORIGIN 7 is undefined: treat-as-withdraw, not a reset.
    let body = [
        0, 0, 0, 20, 0x40, 1, 1, 7, 0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xea, 0x40, 3, 4, 192, 0, 2, 9,
        24, 203, 0, 113,
    ];
    pair.inject(false, &frame(2, &body));
    assert_eq!(pair.b.session.state(), State::Established);
    let stats = pair.b.session.stats();
    assert_eq!((stats.treat_as_withdraw, stats.prefixes_received), (1, 0));
    assert!(pair.b.saw(|e| matches!(
        e,
        SessionEvent::UpdateError(err) if err.error == Error::InvalidOrigin
    )));
    assert!(notifications(&pair.a).is_empty());
}

#[test]
fn test_rfc6608_unexpected_message_in_open_sent() {
    let now = epoch();
    let config = PeerConfig::try_from(settings(true)).unwrap();
    let mut session = Session::new(config, now);
    session.handle_command(now, Command::Start);
    session.handle_command(now, Command::TcpConnected);
    assert_eq!(session.state(), State::OpenSent);
    let mut out = Vec::new();
    assert!(session.poll_transmit(&mut out));
    assert!(matches!(
        Message::parse(&out, Negotiated::default()),
        Ok(Message::Open(_))
    ));
    session.handle_bytes(now, &frame(4, &[]));
    out.clear();
    assert!(session.poll_transmit(&mut out));
    let Ok(Message::Notification(n)) = Message::parse(&out, Negotiated::default()) else {
        panic!("expected NOTIFICATION");
    };
    assert_eq!((n.code, n.subcode), (5, 1));
    assert_eq!(session.state(), State::Idle);
}

#[test]
fn test_6_2_bad_peer_as_and_idle_hold_backoff_doubles() {
    let mut b = settings(false);
    b.peer_as = 65099;
    let mut pair = Pair::new(settings(true), b);
    pair.start_both();
    pair.advance(secs(600));
    assert_eq!(notifications(&pair.a)[0], (2, 2));
    assert_eq!(
        down_reasons(&pair.b)[0],
        DownReason::ProtocolError(Error::BadPeerAs)
    );
    let times = pair.a.connect_times();
    let gaps: Vec<_> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(
        gaps,
        vec![
            secs(5),
            secs(10),
            secs(20),
            secs(40),
            secs(80),
            secs(120),
            secs(120),
            secs(120)
        ]
    );
}

#[test]
fn idle_hold_returns_to_first_value_after_a_stable_session() {
    let mut pair = Pair::established();
    // Two quick flaps double the idle hold time twice ...
    for _ in 0..2 {
        pair.break_connection();
        pair.advance(secs(30));
        assert_eq!(pair.a.session.state(), State::Established);
    }
    // ... a session that stays up for a while earns the first value back.
    pair.advance(secs(120));
    pair.break_connection();
    let down_at = pair.now;
    pair.advance(secs(30));
    let last = *pair.a.connect_times().last().unwrap();
    assert_eq!(last - down_at, secs(5));
}

#[test]
fn test_rfc9003_stop_sends_shutdown_communication_and_stays_down() {
    let mut pair = Pair::established();
    pair.command(
        true,
        Command::Stop {
            message: "maintenance: draining site".into(),
        },
    );
    let notification = pair
        .b
        .received
        .iter()
        .find_map(|m| match m {
            Message::Notification(n) => Some(n.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!((notification.code, notification.subcode), (6, 2));
    assert_eq!(
        notification.shutdown_communication(),
        Some("maintenance: draining site")
    );
    assert!(matches!(
        &down_reasons(&pair.a)[..],
        [DownReason::Stopped { .. }]
    ));
    let connects = pair.a.connect_times().len();
    pair.advance(secs(600));
    assert_eq!(pair.a.session.state(), State::Idle);
    assert_eq!(
        pair.a.connect_times().len(),
        connects,
        "no automatic restart"
    );
    assert_eq!(pair.a.session.poll_timeout(), None);
    // B keeps trying and comes back once A is started again.
    pair.command(true, Command::Start);
    pair.advance(secs(130));
    assert_eq!(pair.a.session.state(), State::Established);
    assert_eq!(pair.b.session.state(), State::Established);
}

#[test]
fn test_rfc9384_bfd_down_sends_cease_10_and_restarts() {
    let mut pair = Pair::established();
    pair.command(true, Command::BfdDown);
    assert_eq!(notifications(&pair.b), vec![(6, 10)]);
    assert_eq!(down_reasons(&pair.a), vec![DownReason::BfdDown]);
    assert_eq!(pair.a.session.state(), State::Idle);
    // Unlike Stop, the session restarts by itself.
    pair.advance(secs(130));
    assert_eq!(pair.a.session.state(), State::Established);
    // Without a connection there is nothing to close.
    let mut idle = Session::new(PeerConfig::try_from(settings(true)).unwrap(), epoch());
    idle.handle_command(epoch(), Command::BfdDown);
    assert_eq!(idle.poll_event(), None);
}

#[test]
fn test_rfc9687_send_hold_timer_closes_a_stalled_connection() {
    let mut b = settings(false);
    b.hold_time = Duration::ZERO; // no keepalives or hold timer to interfere
    let mut pair = Pair::new(settings(true), b);
    pair.start_both();
    assert!(pair.a.saw(|e| matches!(
        e,
        SessionEvent::Established { hold_time, .. } if hold_time.is_zero()
    )));
    pair.a.stall_output = true;
    pair.command(true, Command::Announce(p("203.0.113.0/24")));
    pair.advance(secs(479));
    assert_eq!(pair.a.session.state(), State::Established);
    pair.advance(secs(2));
    assert_eq!(
        down_reasons(&pair.a),
        vec![DownReason::SendHoldTimerExpired]
    );
}

#[test]
fn test_rfc9687_draining_output_stops_the_send_hold_timer() {
    let mut b = settings(false);
    b.hold_time = Duration::ZERO;
    let mut pair = Pair::new(settings(true), b);
    pair.start_both();
    pair.a.stall_output = true;
    pair.command(true, Command::Announce(p("203.0.113.0/24")));
    pair.advance(secs(400));
    pair.a.stall_output = false;
    pair.drive();
    pair.advance(secs(3600));
    assert_eq!(pair.a.session.state(), State::Established);
    assert_eq!(pair.b.updates().len(), 1);
}

#[test]
fn test_6_8_established_or_idle_refuses_a_new_connection() {
    let mut pair = Pair::established();
    pair.command(false, Command::TcpAccepted);
    assert!(pair.b.saw(|e| *e == SessionEvent::ConnectionRefused));
    assert_eq!(pair.b.session.state(), State::Established);
    // In Idle too, connections are refused.
    let now = epoch();
    let mut idle = Session::new(PeerConfig::try_from(settings(true)).unwrap(), now);
    idle.handle_command(now, Command::TcpConnected);
    assert_eq!(idle.poll_event(), Some(SessionEvent::ConnectionRefused));
    assert_eq!(idle.state(), State::Idle);
}

#[test]
fn test_rfc6793_four_octet_as_uses_as_trans_in_open() {
    let mut a = settings(true);
    a.local_as = 4_200_000_000;
    let mut b = settings(false);
    b.peer_as = 4_200_000_000;
    let mut pair = Pair::new(a, b);
    pair.start_both();
    let Some(Message::Open(open)) = pair.b.received.first() else {
        panic!("expected OPEN");
    };
    assert_eq!(open.my_as, 23456);
    assert_eq!(open.asn(), 4_200_000_000);
    pair.command(true, Command::Announce(p("203.0.113.0/24")));
    assert_eq!(
        pair.b.updates()[0].attributes.as_path,
        Some(AsPath::sequence(vec![4_200_000_000]))
    );
}

#[test]
fn received_notification_from_peer_is_reported() {
    let mut pair = Pair::established();
    let mut bytes = Vec::new();
    let n = Notification::cease(bgp_wire::CeaseSubcode::AdministrativeReset, "reboot");
    Message::Notification(n.clone())
        .emit(&mut bytes, Negotiated::FOUR_OCTET_AS)
        .unwrap();
    pair.inject(true, &bytes);
    assert_eq!(
        down_reasons(&pair.a),
        vec![DownReason::NotificationReceived(n)]
    );
    assert!(
        notifications(&pair.b).is_empty(),
        "a NOTIFICATION is never answered"
    );
}

#[test]
fn ibgp_sends_local_pref_and_empty_as_path() {
    let mut a = settings(true);
    a.peer_as = 65001;
    let mut b = settings(false);
    b.local_as = 65001;
    let mut pair = Pair::new(a, b);
    pair.start_both();
    pair.command(true, Command::Announce(p("203.0.113.0/24")));
    let attrs = &pair.b.updates()[0].attributes;
    assert_eq!(attrs.as_path, Some(AsPath::default()));
    assert_eq!(attrs.local_pref, Some(100));
}

#[test]
fn settings_template_is_valid() {
    assert!(PeerConfig::try_from(PeerSettings::new(1, 2, Ipv4Addr::new(1, 1, 1, 1))).is_ok());
}

/// The graceful restart capabilities in the OPEN a side received.
fn graceful_restart_seen(side: &Side) -> Vec<bgp_wire::GracefulRestart> {
    side.received
        .iter()
        .filter_map(|m| match m {
            Message::Open(open) => Some(open.capabilities.clone()),
            _ => None,
        })
        .flatten()
        .filter_map(|c| match c {
            bgp_wire::Capability::GracefulRestart(gr) => Some(gr),
            _ => None,
        })
        .collect()
}

#[test]
fn test_rfc4724_graceful_restart_only_when_configured() {
    let pair = Pair::established();
    assert!(
        graceful_restart_seen(&pair.b).is_empty(),
        "off by default (fate sharing)"
    );
    let mut a = settings(true);
    a.graceful_restart = Some(secs(120));
    let mut pair = Pair::new(a, settings(false));
    pair.start_both();
    assert_eq!(pair.a.session.state(), State::Established);
    let seen = graceful_restart_seen(&pair.b);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].restart_time, 120);
    assert_eq!(seen[0].restart_flags, 0);
    assert!(
        seen[0].families.iter().all(|f| f.flags == 0),
        "no forwarding state claimed"
    );
    assert_eq!(seen[0].families.len(), 2);
}
