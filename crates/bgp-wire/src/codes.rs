//! NOTIFICATION error codes and subcodes (RFC 4271 §4.5 and the IANA registry) as named `u8`
//! enums: the one list of wire codes, used by NOTIFICATION messages and the error mapping.

/// Defines a `u8`-valued enum with conversions both ways.
macro_rules! wire_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:expr,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// The enum value for a wire value, if it is one we name.
            pub fn from_u8(value: u8) -> Option<Self> {
                match value {
                    $($value => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }

        impl From<$name> for u8 {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => $value,)*
                }
            }
        }
    };
}

wire_enum! {
    /// NOTIFICATION error codes (RFC 4271 §4.5 and the IANA registry).
    pub enum ErrorCode {
        /// Message Header Error.
        MessageHeader = 1,
        /// OPEN Message Error.
        Open = 2,
        /// UPDATE Message Error.
        Update = 3,
        /// Hold Timer Expired.
        HoldTimerExpired = 4,
        /// Finite State Machine Error (subcodes in RFC 6608).
        Fsm = 5,
        /// Cease (subcodes in RFC 4486).
        Cease = 6,
        /// ROUTE-REFRESH Message Error (RFC 7313).
        RouteRefresh = 7,
        /// Send Hold Timer Expired (RFC 9687).
        SendHoldTimerExpired = 8,
    }
}

wire_enum! {
    /// Message Header Error subcodes (RFC 4271 §6.1).
    pub enum HeaderSubcode {
        /// The marker is not all ones.
        ConnectionNotSynchronized = 1,
        /// The length is out of range.
        BadMessageLength = 2,
        /// The type is unknown.
        BadMessageType = 3,
    }
}

wire_enum! {
    /// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492).
    pub enum OpenSubcode {
        /// The version is not 4.
        UnsupportedVersionNumber = 1,
        /// The AS is not the expected one.
        BadPeerAs = 2,
        /// The BGP Identifier is not acceptable.
        BadBgpIdentifier = 3,
        /// An optional parameter is unknown.
        UnsupportedOptionalParameter = 4,
        /// The hold time is one or two seconds.
        UnacceptableHoldTime = 6,
        /// A required capability is missing (RFC 5492 §5).
        UnsupportedCapability = 7,
    }
}

wire_enum! {
    /// UPDATE Message Error subcodes (RFC 4271 §6.3).
    pub enum UpdateSubcode {
        /// Lengths are inconsistent.
        MalformedAttributeList = 1,
        /// A well-known attribute is not recognised.
        UnrecognizedWellKnownAttribute = 2,
        /// A mandatory attribute is missing.
        MissingWellKnownAttribute = 3,
        /// Attribute flags conflict with the type.
        AttributeFlagsError = 4,
        /// Attribute length is wrong.
        AttributeLengthError = 5,
        /// ORIGIN value is undefined.
        InvalidOrigin = 6,
        /// NEXT_HOP is not usable.
        InvalidNextHop = 8,
        /// A recognised optional attribute is malformed.
        OptionalAttributeError = 9,
        /// A prefix is malformed.
        InvalidNetworkField = 10,
        /// AS_PATH is malformed.
        MalformedAsPath = 11,
    }
}

wire_enum! {
    /// Finite State Machine Error subcodes (RFC 6608 §3).
    pub enum FsmSubcode {
        /// No subcode.
        Unspecified = 0,
        /// A message other than OPEN or NOTIFICATION arrived in OpenSent.
        UnexpectedMessageInOpenSent = 1,
        /// A message other than KEEPALIVE or NOTIFICATION arrived in OpenConfirm.
        UnexpectedMessageInOpenConfirm = 2,
        /// An OPEN arrived in Established.
        UnexpectedMessageInEstablished = 3,
    }
}

wire_enum! {
    /// Cease subcodes (RFC 4486 §4, RFC 9384).
    pub enum CeaseSubcode {
        /// Maximum number of prefixes reached.
        MaximumPrefixes = 1,
        /// Administrative shutdown; may carry a shutdown communication (RFC 9003).
        AdministrativeShutdown = 2,
        /// The peer was removed from the configuration.
        PeerDeconfigured = 3,
        /// Administrative reset; may carry a shutdown communication (RFC 9003).
        AdministrativeReset = 4,
        /// The connection was rejected.
        ConnectionRejected = 5,
        /// Another configuration change.
        OtherConfigurationChange = 6,
        /// Connection collision resolution (RFC 4271 §6.8).
        ConnectionCollisionResolution = 7,
        /// Out of resources.
        OutOfResources = 8,
        /// Hard reset (RFC 8538).
        HardReset = 9,
        /// BFD down (RFC 9384).
        BfdDown = 10,
    }
}

wire_enum! {
    /// ROUTE-REFRESH Message Error subcodes (RFC 7313 §5).
    pub enum RouteRefreshSubcode {
        /// The ROUTE-REFRESH has the wrong length.
        InvalidMessageLength = 1,
    }
}
