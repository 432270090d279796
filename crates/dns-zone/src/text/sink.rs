//! Where the reader's records go: the zone builder when a zone is loaded, or a comparison
//! with the serving version when a zone file is reloaded (`crate::reload`).

use dns_wire::types::class;

use super::GiveUp;
use crate::build::ZoneBuilder;
use crate::pending::Source;

/// Takes each record the reader reads (class IN: the reader gives up on any other).
pub(crate) trait RecordSink {
    /// One record; [`GiveUp`] stops the reading.
    fn record(
        &mut self,
        owner: &[u8],
        rtype: u16,
        ttl: u32,
        rdata: &[u8],
        source: Source,
    ) -> Result<(), GiveUp>;
}

impl RecordSink for ZoneBuilder {
    /// Every record is taken; what the builder rejects it reports as a problem.
    fn record(
        &mut self,
        owner: &[u8],
        rtype: u16,
        ttl: u32,
        rdata: &[u8],
        source: Source,
    ) -> Result<(), GiveUp> {
        self.add_from(owner, rtype, class::IN, ttl, rdata, source);
        Ok(())
    }
}
