//! The BFD Control packet (RFC 5880 §4.1) without authentication: parse and emit.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//! |                       My Discriminator                        |
//! |                      Your Discriminator                       |
//! |                    Desired Min TX Interval                    |
//! |                   Required Min RX Interval                    |
//! |                 Required Min Echo RX Interval                 |
//! ```
//!
//! [`ControlPacket::parse`] applies the checks of RFC 5880 §6.8.6 that need only the packet
//! (version, length, detect multiplier, multipoint, my discriminator, authentication);
//! the checks on Your Discriminator need the session and live in [`crate::Session`].
//! Parsing never panics; [`ControlPacket::emit`] never panics.

use std::fmt;

/// The protocol version this crate speaks (RFC 5880 §4.1, "Version (Vers)").
pub const VERSION: u8 = 1;

/// Length of a Control packet without an Authentication Section.
pub const PACKET_LEN: usize = 24;

/// Field offsets, one to one with the wire layout.
mod field {
    use std::ops::Range;

    pub(super) const VERS_DIAG: usize = 0;
    pub(super) const STATE_FLAGS: usize = 1;
    pub(super) const DETECT_MULT: usize = 2;
    pub(super) const LENGTH: usize = 3;
    pub(super) const MY_DISCRIMINATOR: Range<usize> = 4..8;
    pub(super) const YOUR_DISCRIMINATOR: Range<usize> = 8..12;
    pub(super) const DESIRED_MIN_TX: Range<usize> = 12..16;
    pub(super) const REQUIRED_MIN_RX: Range<usize> = 16..20;
    pub(super) const REQUIRED_MIN_ECHO_RX: Range<usize> = 20..24;
}

/// Flag bits of the second octet (after the two State bits).
mod flag {
    pub(super) const POLL: u8 = 0x20;
    pub(super) const FINAL: u8 = 0x10;
    pub(super) const CONTROL_PLANE_INDEPENDENT: u8 = 0x08;
    pub(super) const AUTHENTICATION: u8 = 0x04;
    pub(super) const DEMAND: u8 = 0x02;
    pub(super) const MULTIPOINT: u8 = 0x01;
}

/// Session states (RFC 5880 §4.1 "State (Sta)", §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// 0: held down administratively.
    AdminDown,
    /// 1: down, or just created.
    Down,
    /// 2: the remote end is talking to us; we wait for it to see us.
    Init,
    /// 3: both ends see each other.
    Up,
}

impl State {
    fn from_bits(bits: u8) -> Self {
        match bits & 0x3 {
            0 => Self::AdminDown,
            1 => Self::Down,
            2 => Self::Init,
            _ => Self::Up,
        }
    }

    fn bits(self) -> u8 {
        match self {
            Self::AdminDown => 0,
            Self::Down => 1,
            Self::Init => 2,
            Self::Up => 3,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Diagnostic codes (RFC 5880 §4.1 "Diagnostic (Diag)"): why the sender's session last
/// changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Diag {
    /// 0: No Diagnostic.
    None,
    /// 1: Control Detection Time Expired.
    ControlDetectionTimeExpired,
    /// 2: Echo Function Failed.
    EchoFunctionFailed,
    /// 3: Neighbor Signaled Session Down.
    NeighborSignaledSessionDown,
    /// 4: Forwarding Plane Reset.
    ForwardingPlaneReset,
    /// 5: Path Down.
    PathDown,
    /// 6: Concatenated Path Down.
    ConcatenatedPathDown,
    /// 7: Administratively Down.
    AdministrativelyDown,
    /// 8: Reverse Concatenated Path Down.
    ReverseConcatenatedPathDown,
    /// 9-31: reserved; kept so that parse and emit round-trip.
    Reserved(u8),
}

impl Diag {
    fn from_bits(bits: u8) -> Self {
        match bits & 0x1f {
            0 => Self::None,
            1 => Self::ControlDetectionTimeExpired,
            2 => Self::EchoFunctionFailed,
            3 => Self::NeighborSignaledSessionDown,
            4 => Self::ForwardingPlaneReset,
            5 => Self::PathDown,
            6 => Self::ConcatenatedPathDown,
            7 => Self::AdministrativelyDown,
            8 => Self::ReverseConcatenatedPathDown,
            other => Self::Reserved(other),
        }
    }

    /// The 5-bit code.
    pub fn code(self) -> u8 {
        match self {
            Self::None => 0,
            Self::ControlDetectionTimeExpired => 1,
            Self::EchoFunctionFailed => 2,
            Self::NeighborSignaledSessionDown => 3,
            Self::ForwardingPlaneReset => 4,
            Self::PathDown => 5,
            Self::ConcatenatedPathDown => 6,
            Self::AdministrativelyDown => 7,
            Self::ReverseConcatenatedPathDown => 8,
            Self::Reserved(code) => code & 0x1f,
        }
    }
}

/// Why a received packet was discarded (RFC 5880 §6.8.6); cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// Fewer than 24 octets, or fewer than the Length field says.
    Truncated,
    /// The version is not 1.
    BadVersion(u8),
    /// The Length field is below the minimum (24, or 26 with the A bit).
    BadLength(u8),
    /// Detect Mult is zero.
    ZeroDetectMult,
    /// The Multipoint (M) bit is set.
    Multipoint,
    /// My Discriminator is zero.
    ZeroMyDiscriminator,
    /// The Authentication Present (A) bit is set; this crate does not do authentication.
    Authentication,
    /// Both Poll and Final are set, which a packet must never carry.
    PollAndFinal,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("truncated"),
            Self::BadVersion(v) => write!(f, "version {v}, expected {VERSION}"),
            Self::BadLength(l) => write!(f, "length field {l} too small"),
            Self::ZeroDetectMult => f.write_str("detect multiplier zero"),
            Self::Multipoint => f.write_str("multipoint bit set"),
            Self::ZeroMyDiscriminator => f.write_str("my discriminator zero"),
            Self::Authentication => f.write_str("authentication not supported"),
            Self::PollAndFinal => f.write_str("both poll and final set"),
        }
    }
}

impl std::error::Error for ParseError {}

/// A validated BFD Control packet; intervals are in microseconds, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlPacket {
    /// Diagnostic.
    pub diag: Diag,
    /// The sender's session state.
    pub state: State,
    /// Poll (P): the sender asks for a packet with Final set.
    pub poll: bool,
    /// Final (F): the answer to a Poll.
    pub final_bit: bool,
    /// Control Plane Independent (C).
    pub control_plane_independent: bool,
    /// Demand (D): the sender wants Demand mode.
    pub demand: bool,
    /// Detect Mult.
    pub detect_mult: u8,
    /// My Discriminator (never zero once parsed).
    pub my_discriminator: u32,
    /// Your Discriminator (zero if the sender does not know it yet).
    pub your_discriminator: u32,
    /// Desired Min TX Interval, µs.
    pub desired_min_tx: u32,
    /// Required Min RX Interval, µs (zero: send me no periodic packets).
    pub required_min_rx: u32,
    /// Required Min Echo RX Interval, µs (zero: no Echo).
    pub required_min_echo_rx: u32,
}

impl ControlPacket {
    /// Parses and checks a received packet (the packet-only checks of RFC 5880 §6.8.6).
    /// Octets beyond the Length field (UDP padding) are ignored.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let Some(header) = bytes.get(..PACKET_LEN) else {
            return Err(ParseError::Truncated);
        };
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.6
        //# If the version number is not correct (1), the packet MUST be discarded.
        let version = header[field::VERS_DIAG] >> 5;
        if version != VERSION {
            return Err(ParseError::BadVersion(version));
        }
        let flags = header[field::STATE_FLAGS];
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.6
        //# If the Length field is less than the minimum correct value (24 if the A bit is
        //# clear, or 26 if the A bit is set), the packet MUST be discarded.
        let length = header[field::LENGTH];
        let min = if flags & flag::AUTHENTICATION != 0 {
            26
        } else {
            24
        };
        if usize::from(length) < min {
            return Err(ParseError::BadLength(length));
        }
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.6
        //# If the Length field is greater than the payload of the encapsulating protocol,
        //# the packet MUST be discarded.
        if usize::from(length) > bytes.len() {
            return Err(ParseError::Truncated);
        }
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.6
        //# If the Detect Mult field is zero, the packet MUST be discarded.
        let detect_mult = header[field::DETECT_MULT];
        if detect_mult == 0 {
            return Err(ParseError::ZeroDetectMult);
        }
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.6
        //# If the Multipoint (M) bit is nonzero, the packet MUST be discarded.
        if flags & flag::MULTIPOINT != 0 {
            return Err(ParseError::Multipoint);
        }
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.6
        //# If the My Discriminator field is zero, the packet MUST be discarded.
        let my_discriminator = u32_at(header, field::MY_DISCRIMINATOR);
        if my_discriminator == 0 {
            return Err(ParseError::ZeroMyDiscriminator);
        }
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.6
        //# If the A bit is set and no authentication is in use (bfd.AuthType is zero), the
        //# packet MUST be discarded.
        if flags & flag::AUTHENTICATION != 0 {
            return Err(ParseError::Authentication);
        }
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.5
        //# A BFD Control packet MUST NOT have both the Poll (P) and Final (F) bits set.
        if flags & flag::POLL != 0 && flags & flag::FINAL != 0 {
            return Err(ParseError::PollAndFinal);
        }
        Ok(Self {
            diag: Diag::from_bits(header[field::VERS_DIAG]),
            state: State::from_bits(flags >> 6),
            poll: flags & flag::POLL != 0,
            final_bit: flags & flag::FINAL != 0,
            control_plane_independent: flags & flag::CONTROL_PLANE_INDEPENDENT != 0,
            demand: flags & flag::DEMAND != 0,
            detect_mult,
            my_discriminator,
            your_discriminator: u32_at(header, field::YOUR_DISCRIMINATOR),
            desired_min_tx: u32_at(header, field::DESIRED_MIN_TX),
            required_min_rx: u32_at(header, field::REQUIRED_MIN_RX),
            required_min_echo_rx: u32_at(header, field::REQUIRED_MIN_ECHO_RX),
        })
    }

    /// Octets [`Self::emit`] appends.
    pub fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// Appends the packet (24 octets, version 1, no authentication) to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let mut flags = self.state.bits() << 6;
        for (set, bit) in [
            (self.poll, flag::POLL),
            (self.final_bit, flag::FINAL),
            (
                self.control_plane_independent,
                flag::CONTROL_PLANE_INDEPENDENT,
            ),
            (self.demand, flag::DEMAND),
        ] {
            if set {
                flags |= bit;
            }
        }
        out.push((VERSION << 5) | self.diag.code());
        out.push(flags);
        out.push(self.detect_mult);
        // 24 fits in the octet.
        out.push(PACKET_LEN as u8);
        for value in [
            self.my_discriminator,
            self.your_discriminator,
            self.desired_min_tx,
            self.required_min_rx,
            self.required_min_echo_rx,
        ] {
            out.extend_from_slice(&value.to_be_bytes());
        }
    }
}

fn u32_at(bytes: &[u8], range: std::ops::Range<usize>) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[range]);
    u32::from_be_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet as BIRD sends it while Up at 100 ms (captured layout, values chosen).
    const UP: [u8; 24] = [
        0x20, 0xc0, 3, 24, 0, 0, 0, 7, 0, 0, 0, 9, 0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0, 0, 0, 0, 0,
    ];

    const UP_PACKET: ControlPacket = ControlPacket {
        diag: Diag::None,
        state: State::Up,
        poll: false,
        final_bit: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: 7,
        your_discriminator: 9,
        desired_min_tx: 100_000,
        required_min_rx: 100_000,
        required_min_echo_rx: 0,
    };

    #[test]
    fn test_4_1_deconstruct_and_construct() {
        assert_eq!(ControlPacket::parse(&UP), Ok(UP_PACKET));
        let mut out = Vec::new();
        UP_PACKET.emit(&mut out);
        assert_eq!(out, UP);
        assert_eq!(out.len(), UP_PACKET.buffer_len());
    }

    #[test]
    fn flags_and_diag_round_trip() {
        let packet = ControlPacket {
            diag: Diag::Reserved(31),
            state: State::Init,
            poll: true,
            demand: true,
            control_plane_independent: true,
            ..UP_PACKET
        };
        let mut out = Vec::new();
        packet.emit(&mut out);
        assert_eq!(ControlPacket::parse(&out), Ok(packet));
    }

    #[test]
    fn padding_after_length_is_ignored() {
        let mut padded = UP.to_vec();
        padded.extend_from_slice(&[0; 8]);
        assert_eq!(ControlPacket::parse(&padded), Ok(UP_PACKET));
    }

    #[test]
    fn test_6_8_6_malformed_packets_are_discarded() {
        let with = |at: usize, value: u8| {
            let mut bytes = UP;
            bytes[at] = value;
            ControlPacket::parse(&bytes)
        };
        assert_eq!(with(0, 0x40), Err(ParseError::BadVersion(2)));
        assert_eq!(with(3, 23), Err(ParseError::BadLength(23)));
        assert_eq!(with(3, 25), Err(ParseError::Truncated));
        assert_eq!(with(2, 0), Err(ParseError::ZeroDetectMult));
        assert_eq!(with(1, 0xc1), Err(ParseError::Multipoint));
        assert_eq!(with(7, 0), Err(ParseError::ZeroMyDiscriminator));
        assert_eq!(with(1, 0xc4), Err(ParseError::BadLength(24)));
        let mut auth = UP.to_vec();
        auth[1] = 0xc4;
        auth[3] = 26;
        auth.extend_from_slice(&[1, 2]);
        assert_eq!(ControlPacket::parse(&auth), Err(ParseError::Authentication));
        assert_eq!(with(1, 0xf0), Err(ParseError::PollAndFinal));
        for len in 0..24 {
            assert_eq!(ControlPacket::parse(&UP[..len]), Err(ParseError::Truncated));
        }
    }
}
