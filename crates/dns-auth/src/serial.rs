//! SOA serial numbers compared in RFC 1982 serial number arithmetic (SERIAL_BITS = 32):
//! the one comparison every part that compares serials uses (IXFR plans, refresh, lag).

/// An SOA serial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Serial(pub u32);

impl Serial {
    //= https://www.rfc-editor.org/rfc/rfc1982#section-3.2
    //# s1 is said to be less than s2 if, and only if, s1 is not equal to s2, and
    //# (i1 < i2 and i2 - i1 < 2^(SERIAL_BITS - 1)) or
    //# (i1 > i2 and i1 - i2 > 2^(SERIAL_BITS - 1))
    /// Whether `self` is older than `other`. Serials exactly 2^31 apart are not comparable:
    /// neither is older (RFC 1982 leaves the comparison undefined).
    pub fn is_older_than(self, other: Self) -> bool {
        self != other && other.0.wrapping_sub(self.0) < 0x8000_0000
    }

    /// Whether `self` is newer than `other`.
    pub fn is_newer_than(self, other: Self) -> bool {
        self != other && self.0.wrapping_sub(other.0) < 0x8000_0000
    }
}

impl From<u32> for Serial {
    fn from(serial: u32) -> Self {
        Self(serial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_3_2_comparison_wraps_around() {
        assert!(Serial(1).is_older_than(Serial(2)));
        assert!(Serial(u32::MAX).is_older_than(Serial(0)));
        assert!(Serial(2).is_newer_than(Serial(u32::MAX)));
        assert!(!Serial(2).is_older_than(Serial(1)));
        assert!(!Serial(5).is_older_than(Serial(5)));
        assert!(!Serial(5).is_newer_than(Serial(5)));
    }

    #[test]
    fn test_3_2_half_the_space_apart_is_undefined() {
        assert!(!Serial(0).is_older_than(Serial(0x8000_0000)));
        assert!(
            Serial(0).is_newer_than(Serial(0x8000_0000))
                == Serial(0x8000_0000).is_older_than(Serial(0))
        );
    }
}
