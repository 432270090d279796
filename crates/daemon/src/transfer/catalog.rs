//! Catalog zones (RFC 9432) in the daemon. Consumer: after each new version of a consumed
//! catalog, member zones are added as secondaries (inheriting the catalog's primaries, key,
//! source and access lists) or removed (stop serving, delete stored files), so a fleet of
//! sites is provisioned by editing one zone on the primary. Producer: a catalog listing this
//! server's primary zones, served like any zone so consumers can transfer it.

use std::sync::Arc;

use dns_zone::{Zone, ZoneSet, build_catalog, catalog_members};
use tracing::{info, warn};

use crate::config::{CatalogRole, ZoneConfig};
use crate::serve::Shared;

/// Makes the member zones of `catalog` (consumed as `config`) match its current content.
pub(crate) fn reconcile(shared: &Arc<Shared>, config: &ZoneConfig, catalog: &Zone) {
    let name = dns_wire::name_to_text(&config.origin);
    let members = match catalog_members(catalog) {
        Ok(members) => members,
        Err(err) => {
            warn!(catalog = %name, serial = catalog.serial(), "catalog not processed: {err}; members unchanged");
            return;
        }
    };
    let wanted: Vec<Vec<u8>> = members.into_iter().map(|m| m.zone).collect();
    let previous = {
        let mut all = shared
            .transfers
            .catalog_members
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        all.insert(config.origin.clone(), wanted.clone())
            .unwrap_or_default()
    };
    for member in wanted.iter().filter(|m| !previous.contains(m)) {
        let member_name = dns_wire::name_to_text(member);
        let Some(notifications) = shared
            .transfers
            .add_secondary(member, config.transfer.clone())
        else {
            warn!(catalog = %name, member = %member_name, "member ignored: a zone of that name is already configured");
            continue;
        };
        if let Some(stored) = shared
            .transfers
            .storage()
            .and_then(|s| super::Transfers::load_snapshot(s, member))
        {
            insert(shared, Arc::new(stored));
        }
        info!(catalog = %name, member = %member_name, "catalog member added");
        let member_config = ZoneConfig {
            origin: member.clone(),
            file: None,
            transfer: config.transfer.clone(),
            catalog: None,
            signature_window: config.signature_window,
        };
        super::secondary::spawn_one(shared, member_config, notifications);
    }
    for member in previous.iter().filter(|m| !wanted.contains(m)) {
        shared.transfers.remove_secondary(member);
        shared.zones.rcu(|set| {
            let mut set: ZoneSet = (**set).clone();
            set.remove(member);
            set
        });
        info!(catalog = %name, member = %dns_wire::name_to_text(member), "catalog member removed; zone no longer served");
    }
}

fn insert(shared: &Shared, zone: Arc<Zone>) {
    shared.zones.rcu(|set| {
        let mut set: ZoneSet = (**set).clone();
        set.insert(zone.clone());
        set
    });
}

/// Builds every produced catalog from the primary zones in `set` and adds it to `set`.
pub(crate) fn produce_catalogs(zones: &[ZoneConfig], set: &mut ZoneSet) {
    let members: Vec<Vec<u8>> = zones
        .iter()
        .filter(|z| z.file.is_some() && z.catalog.is_none() && set.get(&z.origin).is_some())
        .map(|z| z.origin.clone())
        .collect();
    // Seconds since the epoch as serial: a restart with other members gets a newer one.
    let serial = super::unix_now() as u32;
    for catalog in zones
        .iter()
        .filter(|z| z.catalog == Some(CatalogRole::Producer))
    {
        match build_catalog(&catalog.origin, serial, &members) {
            Ok(zone) => {
                info!(catalog = %dns_wire::name_to_text(&catalog.origin), members = members.len(), serial, "catalog produced");
                set.insert(Arc::new(zone));
            }
            Err(err) => {
                warn!(catalog = %dns_wire::name_to_text(&catalog.origin), "catalog not produced: {err}")
            }
        }
    }
}
