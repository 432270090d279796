//! The state the daemon's tasks share, one owner per piece: the serving zones
//! ([`ZoneStore`], the only writer of the zone set), the query counters ([`Counters`]) and
//! the open TCP connections ([`Connections`]). Transfer state per zone lives in
//! `transfer::state`. `serve` builds each piece once and hands every task only the pieces
//! it uses; nothing here imports the modules that use it.

mod connections;
mod counters;
mod zones;

pub(crate) use connections::Connections;
pub(crate) use counters::{
    COOKIE_RESULTS, Counters, LATENCY_BUCKETS_NS, QueryCounters, RCODE_SLOTS, SIZE_BUCKETS, Totals,
};
pub(crate) use zones::ZoneStore;
