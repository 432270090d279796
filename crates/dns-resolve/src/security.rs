//! The security status of cached data and answers (RFC 4035 §4.3), shared by the cache,
//! the validator and the answer writer (a leaf: it imports nothing of the crate).

/// What validation concluded about a piece of data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Security {
    /// Proven wrong: a signature that does not verify, a missing signature or proof in a
    /// signed zone, a chain of trust that breaks. Not answered without CD.
    Bogus,
    /// Not looked at (validation off, or not yet done): never answered to a client of a
    /// validating resolver without CD until it has been.
    #[default]
    Unchecked,
    /// Proven to come from a zone with no chain of trust to an anchor (an unsigned
    /// delegation, an Opt-Out span, a zone no anchor covers): answered without AD.
    Insecure,
    /// Verified from a trust anchor down: answered with AD.
    Secure,
}

impl Security {
    /// The status of an answer made of parts: the weakest part's.
    pub fn and(self, other: Self) -> Self {
        self.min(other)
    }
}

/// What validation found out about a zone's place in the chain of trust, from its DS
/// RRset or the proof of its absence; kept in the cache apart from that RRset's own
/// status (a DS denial is secure data, yet it makes the zone below insecure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneStatus {
    /// A verified DS RRset designates its keys: the chain continues into the zone.
    Signed,
    /// No chain of trust reaches into it (a proven unsigned delegation, an Opt-Out
    /// span, an insecure parent, DS of algorithms we do not verify).
    Insecure,
    /// The chain breaks at it.
    Bogus,
    /// Proven not to be a zone cut: its names are its enclosing zone's.
    NoCut,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_as_secure_as_its_weakest_part() {
        assert_eq!(Security::Secure.and(Security::Insecure), Security::Insecure);
        assert_eq!(Security::Insecure.and(Security::Bogus), Security::Bogus);
        assert_eq!(Security::Secure.and(Security::Secure), Security::Secure);
        assert_eq!(
            Security::Secure.and(Security::Unchecked),
            Security::Unchecked
        );
    }
}
