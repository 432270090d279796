//! Loading zones at start-up and on reload, and the `check-zone` command.
//!
//! A reload makes each zone's new version beside the serving one (patched from the
//! difference when `dns_zone` can read one, built otherwise) and swaps them in at once, so
//! queries never see half a zone; a zone whose file is broken keeps its old version.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use dns_zone::{Diff, Severity, Zone, ZoneSet, load_zone_file_at, reload_zone_file_at};
use tracing::{error, info, warn};

use crate::cli::CheckZoneArgs;
use crate::clock::unix_now;
use crate::config::{CatalogRole, ConfigError, KeyPath, ZoneConfig};
use crate::error::{Error, ZoneFailure};
use crate::transfer::catalog::produce_catalogs;
use crate::transfer::state::load_stored;

/// Loads one zone, logging its warnings.
pub(crate) fn load_one(zone: &ZoneConfig) -> Result<Zone, Error> {
    load_or_reload(zone, None).map(|(loaded, _)| loaded)
}

/// Loads one zone, logging its warnings; with the version that serves, reads the file
/// against it and patches the difference in when it can (`dns_zone::reload_zone_file_at`:
/// a fraction of the time and memory of a build), returning that difference too.
pub(crate) fn load_or_reload(
    zone: &ZoneConfig,
    serving: Option<&Zone>,
) -> Result<(Zone, Option<Diff>), Error> {
    let started = Instant::now();
    let name = dns_wire::name_to_text(&zone.origin);
    let Some(file) = &zone.file else {
        return Err(Error::Zone {
            zone: name,
            why: ZoneFailure::NoFile,
        });
    };
    let loaded = match serving {
        Some(serving) => reload_zone_file_at(serving, file, unix_now(), zone.signature_window)
            .map(|r| (r.zone, r.problems, r.difference)),
        None => load_zone_file_at(file, &zone.origin, unix_now(), zone.signature_window)
            .map(|(loaded, problems)| (loaded, problems, None)),
    };
    match loaded {
        Ok((loaded, warnings, difference)) => {
            for warning in warnings {
                warn!(zone = %name, "{warning}");
            }
            info!(
                zone = %name,
                serial = loaded.serial(),
                records = loaded.record_count(),
                ms = started.elapsed().as_millis() as u64,
                patched = difference.is_some(),
                "zone loaded"
            );
            Ok((loaded, difference))
        }
        Err(err) => {
            for problem in &err.problems {
                error!(zone = %name, "{problem}");
            }
            Err(Error::Zone {
                zone: name,
                why: ZoneFailure::Load(err),
            })
        }
    }
}

/// Loads every configured zone; any failure stops start-up. A secondary zone is served at
/// once from its stored copy when there is one, then refreshed by its task.
pub fn load_all(zones: &[ZoneConfig], storage: Option<&Path>) -> Result<ZoneSet, Error> {
    let mut set = ZoneSet::new();
    for zone in zones {
        if zone.catalog == Some(CatalogRole::Producer) {
            continue;
        }
        if zone.transfer.is_secondary() {
            let name = dns_wire::name_to_text(&zone.origin);
            match storage.and_then(|s| load_stored(s, &zone.origin)) {
                Some(stored) => {
                    info!(zone = %name, serial = stored.serial(), "secondary zone served from its stored copy");
                    set.insert(Arc::new(stored));
                }
                None => {
                    info!(zone = %name, "secondary zone has no stored copy yet; waiting for a transfer")
                }
            }
            continue;
        }
        set.insert(Arc::new(load_one(zone)?));
    }
    produce_catalogs(zones, &mut set);
    Ok(set)
}

/// A zone's new version from a reload, with its difference from the serving version when
/// the reload found it.
pub(crate) type NewVersion = (Arc<Zone>, Option<Diff>);

/// Reloads the primary zones from their files. Returns the zones to swap in (a zone that
/// fails to load is left out, so the serving version stays); secondaries, catalogs and
/// catalog members change by transfer and are not touched.
pub(crate) fn reload_primaries(zones: &[ZoneConfig], current: &ZoneSet) -> Vec<NewVersion> {
    let mut loaded_zones = Vec::new();
    for zone in zones
        .iter()
        .filter(|z| !z.transfer.is_secondary() && z.catalog.is_none())
    {
        let name = dns_wire::name_to_text(&zone.origin);
        let serving = current.get(&zone.origin);
        match load_or_reload(zone, serving.map(|z| &**z)) {
            Ok((loaded, difference)) => {
                if serving.is_some_and(|old| old.serial() == loaded.serial()) {
                    info!(zone = %name, "serial unchanged");
                }
                loaded_zones.push((Arc::new(loaded), difference));
            }
            Err(_) => match serving {
                Some(old) => {
                    warn!(zone = %name, serial = old.serial(), "reload failed; keeping the zone that is serving")
                }
                None => warn!(zone = %name, "reload failed; zone not served"),
            },
        }
    }
    loaded_zones
}

/// What is legal but often a mistake: a health-checked instance address this process does
/// not listen on (right in the split model, where other processes serve it; a typo
/// otherwise).
fn config_warnings(config: &crate::config::Config) -> Vec<String> {
    let mut warnings = Vec::new();
    let listened = |address: &std::net::SocketAddr| {
        config.listen.iter().any(|l| {
            l.address == *address
                || (l.address.ip().is_unspecified()
                    && l.address.port() == address.port()
                    && l.address.is_ipv4() == address.is_ipv4())
        })
    };
    for (i, cloud) in config.health.iter().flat_map(|h| &h.clouds).enumerate() {
        for (j, instance) in cloud.instances.iter().enumerate() {
            if !listened(instance) {
                warnings.push(format!(
                    "health.cloud[{i}].instances[{j}]: {instance} is not one of this process's \
                     listeners (right when other processes serve it, the split model; a typo \
                     otherwise: the cloud would never be announced)"
                ));
            }
        }
    }
    warnings
}

/// `anyns check-config FILE`: the configuration read as `serve` reads it, then every zone
/// file of its primary zones loaded and checked; a summary line when all is well.
pub fn check_config_command(args: &crate::cli::CheckConfigArgs) -> Result<(), Error> {
    let config = crate::config::Config::from_file(&args.file)?;
    let mut failed = None;
    for zone in &config.zones {
        let Some(file) = &zone.file else {
            continue;
        };
        match load_zone_file_at(file, &zone.origin, unix_now(), zone.signature_window) {
            Ok((_, warnings)) => {
                for warning in &warnings {
                    eprintln!("{warning}");
                }
            }
            Err(err) => {
                for problem in &err.problems {
                    eprintln!("{problem}");
                }
                let errors = err
                    .problems
                    .iter()
                    .filter(|p| p.severity == Severity::Error)
                    .count();
                failed.get_or_insert_with(|| (file.clone(), errors));
            }
        }
    }
    if let Some((file, errors)) = failed {
        return Err(Error::CheckFailed { file, errors });
    }
    for warning in config_warnings(&config) {
        eprintln!("{}: warning: {warning}", args.file.display());
    }
    let secondaries = config
        .zones
        .iter()
        .filter(|z| z.transfer.is_secondary())
        .count();
    println!(
        "{}: ok: {} listeners, {} zones ({} secondary), bgp: {}, health: {}, resolver: {}",
        args.file.display(),
        config.listen.len(),
        config.zones.len(),
        secondaries,
        config
            .bgp
            .as_ref()
            .map_or_else(|| "no".to_string(), |b| format!("{} peers", b.peers.len())),
        if config.health.is_some() { "yes" } else { "no" },
        if config.resolver.is_some() {
            "yes"
        } else {
            "no"
        },
    );
    Ok(())
}

/// `anyns check-zone`: prints problems as FILE:LINE lines; exit code 1 on errors.
pub fn check_zone_command(args: &CheckZoneArgs) -> Result<(), Error> {
    let origin_text = match &args.origin {
        Some(origin) => origin.clone(),
        None => origin_from_file_name(&args.file),
    };
    let origin = dns_wire::name_from_text(&origin_text).map_err(|e| {
        Error::Config(ConfigError::new(
            KeyPath::root("--origin"),
            format!("{origin_text:?}: {e}"),
        ))
    })?;
    let window = args.signature_warning_days.saturating_mul(86_400);
    match load_zone_file_at(&args.file, &origin, unix_now(), window) {
        Ok((zone, warnings)) => {
            for warning in &warnings {
                eprintln!("{warning}");
            }
            println!(
                "{}: zone {} loaded: serial {}, {} records, {} names",
                args.file.display(),
                dns_wire::name_to_text(zone.origin()),
                zone.serial(),
                zone.record_count(),
                zone.node_count()
            );
            Ok(())
        }
        Err(err) => {
            for problem in &err.problems {
                eprintln!("{problem}");
            }
            let errors = err
                .problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .count();
            Err(Error::CheckFailed {
                file: args.file.clone(),
                errors,
            })
        }
    }
}

/// "example.com.zone" -> "example.com."
fn origin_from_file_name(file: &Path) -> String {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = [".zone", ".db", ".txt"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(&name);
    format!("{}.", stem.trim_end_matches('.'))
}
