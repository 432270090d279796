//! `[[zone]]`: a zone served here, from a file (a primary) or from primaries (a secondary),
//! with its transfer keys and catalog role.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::ConfigError;
use super::transfer::{RawTransfer, TransferDefaults, ZoneTransfer};

/// The longest signature-expiry warning window: a year (RRSIG validity is rarely longer).
pub const MAX_SIGNATURE_WARNING_DAYS: u32 = 366;

/// A zone's part in catalog zones (RFC 9432).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatalogRole {
    /// A catalog we transfer from primaries; its members become secondaries here.
    Consumer,
    /// A catalog we build from our own primary zones.
    Producer,
}

/// One `[[zone]]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawZone {
    name: String,
    file: Option<PathBuf>,
    #[serde(default)]
    primaries: Vec<String>,
    #[serde(default)]
    notify: Vec<String>,
    #[serde(default)]
    allow_transfer: Vec<String>,
    #[serde(default)]
    allow_notify: Vec<String>,
    source: Option<String>,
    key: Option<String>,
    transfer_tls: Option<super::transfer::RawTransferTls>,
    catalog: Option<CatalogRole>,
    /// Warn about RRSIGs that expire within this many days of a load (default 7).
    signature_warning_days: Option<u32>,
}

impl RawZone {
    /// A primary zone from a file, as `serve --zone ORIGIN=FILE` gives it.
    pub(crate) fn primary(name: &str, file: &str) -> Self {
        Self {
            name: name.into(),
            file: Some(file.into()),
            ..Self::default()
        }
    }
}

/// A validated zone entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneConfig {
    /// Origin in wire form, lowercased.
    pub origin: Vec<u8>,
    /// The zone file (primaries); secondaries keep their copy in the storage directory.
    pub file: Option<PathBuf>,
    /// Primaries, NOTIFY targets, access lists, source address.
    pub transfer: ZoneTransfer,
    /// Whether this zone is a catalog (consumed or produced).
    pub catalog: Option<CatalogRole>,
    /// A load warns about RRSIGs that have expired or expire within this many seconds.
    pub signature_window: u32,
}

/// What a zone entry is read against: the directory relative file names start from, and
/// the transfer defaults.
pub(crate) struct ZoneDefaults<'a> {
    pub(crate) base: &'a Path,
    pub(crate) transfer: TransferDefaults<'a>,
}

impl TryFrom<(RawZone, &ZoneDefaults<'_>)> for ZoneConfig {
    type Error = ConfigError;

    /// Errors name the key within the entry (`name`, `primaries[0]`).
    fn try_from((raw, defaults): (RawZone, &ZoneDefaults<'_>)) -> Result<Self, ConfigError> {
        let mut origin = dns_wire::name_from_text(&raw.name)
            .map_err(|e| ConfigError::at("name", format!("{:?}: {e}", raw.name)))?;
        dns_wire::lowercase_in_place(&mut origin);
        let transfer = ZoneTransfer::try_from((
            RawTransfer {
                primaries: &raw.primaries,
                notify: &raw.notify,
                allow_transfer: &raw.allow_transfer,
                allow_notify: &raw.allow_notify,
                source: raw.source.as_deref(),
                key: raw.key.as_deref(),
                tls: raw.transfer_tls.as_ref(),
            },
            &defaults.transfer,
        ))?;
        let file = raw.file.map(|f| {
            if f.is_absolute() {
                f
            } else {
                defaults.base.join(f)
            }
        });
        match raw.catalog {
            Some(CatalogRole::Consumer) if !transfer.is_secondary() => {
                return Err(ConfigError::at(
                    "catalog",
                    "a consumed catalog needs primaries",
                ));
            }
            Some(CatalogRole::Producer) if file.is_some() || transfer.is_secondary() => {
                return Err(ConfigError::at(
                    "catalog",
                    "a produced catalog is built from our zones: no file or primaries",
                ));
            }
            Some(CatalogRole::Producer) => {}
            _ if file.is_none() && !transfer.is_secondary() => {
                return Err(ConfigError::at(
                    "",
                    "needs a file (a primary zone) or primaries (a secondary zone)",
                ));
            }
            _ if file.is_some() && transfer.is_secondary() => {
                // A secondary keeps its copy in the storage directory: the file would be
                // ignored, and the zone answered REFUSED until a first transfer.
                return Err(ConfigError::at(
                    "file",
                    "a zone with primaries is a secondary: it takes no file",
                )
                .hint("keep file (a primary zone) or primaries (a secondary zone), not both"));
            }
            _ => {}
        }
        let signature_window = match raw.signature_warning_days {
            None => dns_zone::DEFAULT_SIGNATURE_WINDOW,
            Some(days) if days <= MAX_SIGNATURE_WARNING_DAYS => days * 86_400,
            Some(days) => {
                return Err(ConfigError::at(
                    "signature-warning-days",
                    format!("{days} is more than {MAX_SIGNATURE_WARNING_DAYS}"),
                ));
            }
        };
        Ok(Self {
            origin,
            file,
            transfer,
            catalog: raw.catalog,
            signature_window,
        })
    }
}
