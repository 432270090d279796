//! Catalog zones (RFC 9432) in the daemon. Consumer: after each new version of a consumed
//! catalog, member zones are added as secondaries (inheriting the catalog's primaries, key,
//! source and access lists) or removed (stop serving, delete stored files), so a fleet of
//! sites is provisioned by editing one zone on the primary. Producer: a catalog listing this
//! server's primary zones, served like any zone so consumers can transfer it.

use std::sync::Arc;

use dns_zone::{Zone, ZoneSet, build_catalog, catalog_members};
use tracing::{info, warn};

use super::state::{NotifyReceiver, Transfers};
use crate::clock::unix_now;
use crate::config::{CatalogRole, ZoneConfig};

/// A change to a consumed catalog's member zones, for the secondaries' supervisor to act
/// on (start the member's refresh task, or stop serving it).
pub(crate) enum MemberChange {
    /// A new member, registered in the transfer state as a secondary: start its task.
    Added {
        /// The member, configured as the catalog says (its primaries, key, source and
        /// access lists).
        member: Box<ZoneConfig>,
        /// Its NOTIFY channel.
        notifications: NotifyReceiver,
    },
    /// A member no longer in the catalog: stop serving it and delete its files.
    Removed {
        /// The member's origin.
        origin: Vec<u8>,
    },
}

/// The changes that make the members of `catalog` (consumed as `config`) match its current
/// content; new members are registered in `transfers` here.
pub(crate) fn reconcile(
    transfers: &Transfers,
    config: &ZoneConfig,
    catalog: &Zone,
) -> Vec<MemberChange> {
    let name = dns_wire::name_to_text(&config.origin);
    let members = match catalog_members(catalog) {
        Ok(members) => members,
        Err(err) => {
            warn!(catalog = %name, serial = catalog.serial(), "catalog not processed: {err}; members unchanged");
            return Vec::new();
        }
    };
    let wanted: Vec<Vec<u8>> = members.into_iter().map(|m| m.zone).collect();
    let previous = transfers.replace_members(&config.origin, wanted.clone());
    let mut changes = Vec::new();
    for member in wanted.iter().filter(|m| !previous.contains(m)) {
        let member_name = dns_wire::name_to_text(member);
        let Some(notifications) = transfers.add_secondary(member, config.transfer.clone()) else {
            warn!(catalog = %name, member = %member_name, "member ignored: a zone of that name is already configured");
            continue;
        };
        info!(catalog = %name, member = %member_name, "catalog member added");
        changes.push(MemberChange::Added {
            member: Box::new(ZoneConfig {
                origin: member.clone(),
                file: None,
                transfer: config.transfer.clone(),
                catalog: None,
                signature_window: config.signature_window,
            }),
            notifications,
        });
    }
    for member in previous.into_iter().filter(|m| !wanted.contains(m)) {
        info!(catalog = %name, member = %dns_wire::name_to_text(&member), "catalog member removed; zone no longer served");
        changes.push(MemberChange::Removed { origin: member });
    }
    changes
}

/// Builds every produced catalog from the primary zones in `set` and adds it to `set`.
pub(crate) fn produce_catalogs(zones: &[ZoneConfig], set: &mut ZoneSet) {
    let members: Vec<Vec<u8>> = zones
        .iter()
        .filter(|z| z.file.is_some() && z.catalog.is_none() && set.get(&z.origin).is_some())
        .map(|z| z.origin.clone())
        .collect();
    // Seconds since the epoch as serial: a restart with other members gets a newer one.
    let serial = unix_now() as u32;
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
