//! Why a resolution failed, mapped to the response code and Extended DNS Error (RFC 8914)
//! in one place.

use dns_wire::types::{ede, rcode};

/// A resolution that produced no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Every server of the zone was asked and none gave a usable answer.
    NoReachableAuthority,
    /// The resolution ran out of time.
    Timeout,
    /// A work limit was hit (named): a referral or CNAME loop, or a delegation built to
    /// make us send many queries.
    Limit(&'static str),
    /// DNSSEC validation proved the answer wrong: the Extended DNS Error code (RFC 8914
    /// §4.7-4.13) and the reason.
    Bogus(u16, &'static str),
}

impl Failure {
    /// Every [`Self::cause`], in the order of [`Self::cause_index`].
    pub const CAUSES: [&'static str; 4] = ["unreachable", "timeout", "limit", "bogus"];

    /// The kind of failure in one word, for the metrics.
    pub fn cause(self) -> &'static str {
        Self::CAUSES[self.cause_index()]
    }

    /// The index of [`Self::cause`] in [`Self::CAUSES`].
    pub fn cause_index(self) -> usize {
        match self {
            Self::NoReachableAuthority => 0,
            Self::Timeout => 1,
            Self::Limit(_) => 2,
            Self::Bogus(..) => 3,
        }
    }

    /// The response code for the client.
    pub fn rcode(self) -> u16 {
        rcode::SERVFAIL
    }

    /// The Extended DNS Error code and its text.
    pub fn extended_error(self) -> (u16, &'static str) {
        match self {
            Self::NoReachableAuthority => (ede::NO_REACHABLE_AUTHORITY, "no name server answered"),
            Self::Timeout => (ede::NETWORK_ERROR, "resolution timed out"),
            Self::Limit(what) => (ede::OTHER, what),
            Self::Bogus(code, why) => (code, why),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.extended_error().1)
    }
}
