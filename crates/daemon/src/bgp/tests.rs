//! The driver against a scripted peer on loopback (no root, no external daemon): OPEN
//! exchange, the initial announcement and End-of-RIB, a withdraw, and Stop with its
//! shutdown communication, checked on the wire and on the status channel.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use bgp_session::State;
use bgp_session::bgp_wire::{
    Capability, CeaseSubcode, ErrorCode, Family, Message, Negotiated, Open, Prefix, frame_len,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{BgpHandle, PeerStatus};
use crate::config::Config;

const STEP: Duration = Duration::from_secs(5);

/// Reads one message, failing the test after [`STEP`].
async fn read_message(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Message> {
    tokio::time::timeout(STEP, async {
        loop {
            if let Some(len) = frame_len(buf).expect("framing") {
                let frame: Vec<u8> = buf.drain(..len).collect();
                return Some(Message::parse(&frame, Negotiated::FOUR_OCTET_AS).expect("parse"));
            }
            let mut chunk = [0; 4096];
            let n = stream.read(&mut chunk).await.expect("read");
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .expect("a message within the step timeout")
}

async fn write_message(stream: &mut TcpStream, message: &Message) {
    let mut out = Vec::new();
    message
        .emit(&mut out, Negotiated::FOUR_OCTET_AS)
        .expect("emit");
    stream.write_all(&out).await.expect("write");
}

async fn wait_status(
    handle: &BgpHandle,
    what: &str,
    predicate: impl Fn(&PeerStatus) -> bool,
) -> PeerStatus {
    let mut status = handle.status().remove(0).1;
    tokio::time::timeout(STEP, status.wait_for(|s| predicate(s)))
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .expect("peer task alive")
        .clone()
}

#[tokio::test]
async fn driver_establishes_announces_withdraws_and_stops() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let text = format!(
        r#"
[[listen]]
address = "127.0.0.1:5300"

[bgp]
local-as = 65000
router-id = "192.0.2.1"
prefixes = ["203.0.113.53/32"]
next-hop-v4 = "127.0.0.1"
hold-time = 30
connect-retry-time = 1

[[bgp.peer]]
address = "127.0.0.1"
port = {port}
remote-as = 65001
local-address = "127.0.0.1"
"#
    );
    let config = Config::from_toml(&text, Path::new(".")).unwrap();
    let bgp = config.bgp.unwrap();
    let prefix: Prefix = "203.0.113.53/32".parse().unwrap();
    let handle = BgpHandle::start(&bgp).unwrap();
    handle.announce(prefix);

    let (mut stream, _) = tokio::time::timeout(STEP, listener.accept())
        .await
        .expect("anyns connects")
        .unwrap();
    let mut buf = Vec::new();
    let Some(Message::Open(open)) = read_message(&mut stream, &mut buf).await else {
        panic!("expected OPEN");
    };
    assert_eq!(open.asn(), 65000);
    assert_eq!(open.hold_time, 30);
    let ours = Open {
        version: 4,
        my_as: 65001,
        hold_time: 30,
        bgp_identifier: Ipv4Addr::new(192, 0, 2, 2),
        capabilities: vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::FourOctetAs(65001),
        ],
    };
    write_message(&mut stream, &Message::Open(ours)).await;
    write_message(&mut stream, &Message::Keepalive).await;
    assert_eq!(
        read_message(&mut stream, &mut buf).await,
        Some(Message::Keepalive)
    );
    let Some(Message::Update(update)) = read_message(&mut stream, &mut buf).await else {
        panic!("expected the announcement");
    };
    assert_eq!(update.nlri, vec![prefix]);
    let Some(Message::Update(eor)) = read_message(&mut stream, &mut buf).await else {
        panic!("expected End-of-RIB");
    };
    assert_eq!(eor.end_of_rib_family(), Some(Family::IPV4_UNICAST));
    wait_status(&handle, "Established", |s| s.state == State::Established).await;

    handle.withdraw(prefix);
    let Some(Message::Update(withdraw)) = read_message(&mut stream, &mut buf).await else {
        panic!("expected the withdraw");
    };
    assert_eq!(withdraw.withdrawn, vec![prefix]);

    handle.stop("maintenance");
    let Some(Message::Notification(notification)) = read_message(&mut stream, &mut buf).await
    else {
        panic!("expected a NOTIFICATION");
    };
    assert_eq!(notification.error_code(), Some(ErrorCode::Cease));
    assert_eq!(
        notification.subcode,
        u8::from(CeaseSubcode::AdministrativeShutdown)
    );
    assert_eq!(notification.shutdown_communication(), Some("maintenance"));
    // anyns closes its side after the NOTIFICATION, then waits for ours.
    assert_eq!(read_message(&mut stream, &mut buf).await, None);
    assert!(!handle.wait_closed(Duration::from_millis(100)).await);
    drop(stream);
    assert!(handle.wait_closed(STEP).await);
    let status = wait_status(&handle, "Idle", |s| s.state == State::Idle).await;
    assert_eq!(
        status.last_down.as_deref(),
        Some("stopped: \"maintenance\"")
    );
}

#[tokio::test]
async fn peer_notification_is_the_cause_of_down() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let text = format!(
        "[[listen]]\naddress = \"127.0.0.1:5300\"\n[bgp]\nlocal-as = 65000\nrouter-id = \"192.0.2.1\"\n\
         [[bgp.peer]]\naddress = \"127.0.0.1\"\nport = {port}\nremote-as = 65001\n"
    );
    let bgp = Config::from_toml(&text, Path::new("."))
        .unwrap()
        .bgp
        .unwrap();
    let handle = BgpHandle::start(&bgp).unwrap();
    let (mut stream, _) = tokio::time::timeout(STEP, listener.accept())
        .await
        .expect("anyns connects")
        .unwrap();
    let mut buf = Vec::new();
    assert!(matches!(
        read_message(&mut stream, &mut buf).await,
        Some(Message::Open(_))
    ));
    // A wrong AS in our OPEN: anyns answers Bad Peer AS and goes down.
    let ours = Open {
        version: 4,
        my_as: 65009,
        hold_time: 30,
        bgp_identifier: Ipv4Addr::new(192, 0, 2, 2),
        capabilities: vec![Capability::FourOctetAs(65009)],
    };
    write_message(&mut stream, &Message::Open(ours)).await;
    let Some(Message::Notification(notification)) = read_message(&mut stream, &mut buf).await
    else {
        panic!("expected a NOTIFICATION");
    };
    assert_eq!(notification.error_code(), Some(ErrorCode::Open));
    let status = wait_status(&handle, "a recorded down", |s| s.last_down.is_some()).await;
    assert_eq!(
        status.last_down.as_deref(),
        Some("protocol error: peer AS is not the configured one")
    );
}
