//! DNSSEC validation of a finished answer (RFC 4035 §5): the chain of trust from a trust
//! anchor down DS and DNSKEY RRsets to the zone that signed each part of the answer, then
//! the signatures of the answer's RRsets, the wildcard proofs of expanded answers and the
//! denial proofs of negative ones.
//!
//! ```text
//!  answer RRset ─► signer ─► zone_keys(signer) ─┬─ anchor's zone: DNSKEY matched to the anchor
//!                                               └─ below: DS (verified with the parent's
//!                                                  keys, or its absence proven) ─► DNSKEY
//!               ─► dnssec::verify_rrset_with_keys, wildcard: dnssec::denial
//!  negative answer ─► SOA/NSEC signer's keys ─► dnssec::denial proofs
//! ```
//!
//! Sans-IO and without a state of its own: everything is read from the cache, and what is
//! missing is asked for ([`Next::Need`]): the resolution fetches it into the cache (a DS
//! from the parent, a DNSKEY from the zone) and calls again. What it concludes is written
//! back into the cache entries ([`Security`]), so each RRset is verified once per TTL and
//! the answer path reads the status without cryptography.
//!
//! A zone's place in the chain of trust ([`ZoneStatus`]: signed, insecure, bogus, or no
//! zone cut at all) is kept in the cache beside its DS entry, for that entry's TTL; the
//! entry itself gets the status of its data (a proven DS denial is secure data, though
//! the zone below it is insecure).

use std::sync::Arc;
use std::time::Instant;

use dns_wire::types::{ede, rtype};

use crate::anchors::TrustAnchors;
use crate::cache::{Cache, Cached, Trust};
use crate::dnssec::denial::{self, Proof};
use crate::dnssec::keys::{is_supported_algorithm, is_supported_digest};
use crate::dnssec::{Bogus, MAX_VERIFICATIONS, Rrsig, ds_matches, verify_rrset_with_keys};
use crate::failure::Failure;
use crate::names::{is_at_or_below, parent};
use crate::rrset::RrSet;
use crate::security::{Security, ZoneStatus};

/// A conclusion, or what must be fetched before one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Next<T> {
    /// Concluded.
    Ready(T),
    /// The RRset of this name and type must be in the cache first.
    Need(Vec<u8>, u16),
}

/// Returns the `Ready` value or passes the `Need` up.
macro_rules! ready {
    ($next:expr) => {
        match $next {
            Next::Ready(value) => value,
            Next::Need(name, rtype) => return Next::Need(name, rtype),
        }
    };
}

/// What a zone's keys are.
#[derive(Clone, Debug)]
enum Keys {
    /// Its DNSKEY RRset, verified from an anchor.
    Secure(Arc<RrSet>),
    /// No chain of trust reaches it.
    Insecure,
    /// The chain breaks.
    Bogus(Failure),
}

/// Nested zones followed up to an anchor at most (a name has at most 127 labels).
const MAX_DEPTH: usize = 128;

/// What validation reads.
pub(crate) struct Validator<'a> {
    pub(crate) cache: &'a Cache,
    pub(crate) anchors: &'a TrustAnchors,
    pub(crate) now: Instant,
    /// Seconds since 1970 modulo 2^32, for signature validity.
    pub(crate) unix_now: u32,
}

/// The status of an answer, or why it is bogus.
pub(crate) type Verdict = Result<Security, Failure>;

fn bogus(error: Bogus) -> Failure {
    let code = match error {
        Bogus::SignatureExpired => ede::SIGNATURE_EXPIRED,
        Bogus::SignatureNotYetValid => ede::SIGNATURE_NOT_YET_VALID,
        Bogus::NoSignatures => ede::RRSIGS_MISSING,
        Bogus::NoMatchingKey => ede::DNSKEY_MISSING,
        _ => ede::DNSSEC_BOGUS,
    };
    Failure::Bogus(code, error.text())
}

fn denial_failure(error: denial::DenialError) -> Failure {
    Failure::Bogus(ede::NSEC_MISSING, error.text())
}

impl Validator<'_> {
    /// Validates an answer to (`qname`, `qtype`): the RRsets of `answer` (a CNAME and
    /// DNAME chain, then the data), and when the chain ends without data of the type, the
    /// denial `authority` proves for the chain's last name (`nxdomain`: that it does not
    /// exist). Marks what it checked in the cache.
    pub(crate) fn answer(
        &self,
        qname: &[u8],
        qtype: u16,
        nxdomain: bool,
        answer: &[RrSet],
        authority: &[RrSet],
    ) -> Next<Verdict> {
        let mut security = Security::Secure;
        let mut last_name = qname.to_vec();
        let mut data = false;
        for (at, set) in answer.iter().enumerate() {
            let synthesized = set.rtype == rtype::CNAME
                && set.sigs.is_empty()
                && at > 0
                && answer[at - 1].rtype == rtype::DNAME
                && is_at_or_below(&set.owner, &answer[at - 1].owner);
            if !synthesized {
                match ready!(self.rrset(set, authority)) {
                    Ok(status) => security = security.and(status),
                    Err(failure) => return Next::Ready(Err(failure)),
                }
            }
            if set.rtype == qtype || qtype == rtype::ANY {
                data = true;
            } else if set.rtype == rtype::CNAME {
                if let Some(target) = set.target() {
                    last_name = target;
                }
            }
        }
        if !data {
            let denied = ready!(self.denial(&last_name, qtype, nxdomain, authority));
            match denied {
                Ok(status) => security = security.and(status),
                Err(failure) => return Next::Ready(Err(failure)),
            }
        }
        Next::Ready(Ok(security))
    }

    /// The status of one RRset of an answer, its signatures verified with its signer's
    /// keys (and the wildcard proof among `authority` when it is an expansion).
    fn rrset(&self, set: &RrSet, authority: &[RrSet]) -> Next<Verdict> {
        if let Some((_, known)) = self
            .cache
            .get_checked(self.now, &set.owner, set.rtype, Trust::Glue)
            .filter(|(cached, _)| matches!(cached, Cached::Set(..)))
            .filter(|(_, security)| *security != Security::Unchecked)
        {
            return Next::Ready(match known {
                Security::Bogus => Err(Failure::Bogus(ede::DNSSEC_BOGUS, "cached as bogus")),
                other => Ok(other),
            });
        }
        let verdict = ready!(self.verify_set(set, authority));
        let status = verdict.unwrap_or(Security::Bogus);
        self.cache
            .set_security(self.now, &set.owner, Some(set.rtype), status);
        Next::Ready(verdict)
    }

    fn verify_set(&self, set: &RrSet, authority: &[RrSet]) -> Next<Verdict> {
        let Some(signer) = set.signer() else {
            // Unsigned: fine only where no chain of trust reaches.
            let zone = self.zone_of(&set.owner, set.rtype);
            return Next::Ready(match ready!(self.zone_keys(&zone, 0)) {
                Keys::Insecure => Ok(Security::Insecure),
                Keys::Secure(_) => Err(bogus(Bogus::NoSignatures)),
                Keys::Bogus(failure) => Err(failure),
            });
        };
        if !is_at_or_below(&set.owner, &signer) {
            return Next::Ready(Err(bogus(Bogus::WrongSigner)));
        }
        let keys = match ready!(self.zone_keys(&signer, 0)) {
            Keys::Secure(keys) => keys,
            Keys::Insecure => return Next::Ready(Ok(Security::Insecure)),
            Keys::Bogus(failure) => return Next::Ready(Err(failure)),
        };
        if let Err(error) = self.verify(set, &keys) {
            return Next::Ready(Err(bogus(error)));
        }
        // RFC 4035 §5.3.4: an expansion of a wildcard is secure only with the proof that
        // no closer name exists.
        let wildcard = set
            .sigs
            .iter()
            .filter_map(|s| Rrsig::parse(s).ok())
            .find(|s| s.signer == signer && s.is_wildcard_expansion(&set.owner));
        let Some(rrsig) = wildcard else {
            return Next::Ready(Ok(Security::Secure));
        };
        let proof = match self.verified_proof(authority, &signer, &keys) {
            Ok(proof) => proof,
            Err(failure) => return Next::Ready(Err(failure)),
        };
        let proven = if proof.iter().any(|s| s.rtype == rtype::NSEC3) {
            denial::prove_wildcard_answer_nsec3(&proof, &set.owner, rrsig.labels, &signer)
        } else {
            denial::prove_wildcard_answer_nsec(&proof, &set.owner, rrsig.labels, &signer)
        };
        Next::Ready(proof_status(proven))
    }

    /// The status of a denial of `qtype` at `name` (of the name when `nxdomain`).
    fn denial(
        &self,
        name: &[u8],
        qtype: u16,
        nxdomain: bool,
        authority: &[RrSet],
    ) -> Next<Verdict> {
        let cached_kind = (!nxdomain).then_some(qtype);
        let signer = authority
            .iter()
            .filter(|s| matches!(s.rtype, rtype::NSEC | rtype::NSEC3 | rtype::SOA))
            .find_map(RrSet::signer);
        let verdict = match signer {
            None => {
                let zone = authority
                    .iter()
                    .find(|s| s.rtype == rtype::SOA)
                    .map_or_else(|| self.zone_of(name, qtype), |soa| soa.owner.clone());
                match ready!(self.zone_keys(&zone, 0)) {
                    Keys::Insecure => Ok(Security::Insecure),
                    Keys::Secure(_) => Err(Failure::Bogus(
                        ede::NSEC_MISSING,
                        "no signed denial in a signed zone",
                    )),
                    Keys::Bogus(failure) => Err(failure),
                }
            }
            Some(zone) if !is_at_or_below(name, &zone) => Err(bogus(Bogus::WrongSigner)),
            Some(zone) => match ready!(self.zone_keys(&zone, 0)) {
                Keys::Insecure => Ok(Security::Insecure),
                Keys::Bogus(failure) => Err(failure),
                Keys::Secure(keys) => {
                    self.prove_denial(name, qtype, nxdomain, authority, &zone, &keys)
                }
            },
        };
        let status = verdict.unwrap_or(Security::Bogus);
        self.cache.set_security(self.now, name, cached_kind, status);
        Next::Ready(verdict)
    }

    fn prove_denial(
        &self,
        name: &[u8],
        qtype: u16,
        nxdomain: bool,
        authority: &[RrSet],
        zone: &[u8],
        keys: &RrSet,
    ) -> Verdict {
        for soa in authority.iter().filter(|s| s.rtype == rtype::SOA) {
            self.verify(soa, keys).map_err(bogus)?;
        }
        let proof = self.verified_proof(authority, zone, keys)?;
        let nsec3 = proof.iter().any(|s| s.rtype == rtype::NSEC3);
        let proven = match (nxdomain, nsec3) {
            (true, true) => denial::prove_nxdomain_nsec3(&proof, name, zone),
            (true, false) => denial::prove_nxdomain_nsec(&proof, name, zone),
            (false, true) => denial::prove_nodata_nsec3(&proof, name, qtype, zone),
            (false, false) => denial::prove_nodata_nsec(&proof, name, qtype, zone),
        };
        proof_status(proven)
    }

    /// The NSEC and NSEC3 RRsets of `authority`, each verified with `zone`'s keys.
    fn verified_proof(
        &self,
        authority: &[RrSet],
        zone: &[u8],
        keys: &RrSet,
    ) -> Result<Vec<RrSet>, Failure> {
        let proof: Vec<RrSet> = authority
            .iter()
            .filter(|s| matches!(s.rtype, rtype::NSEC | rtype::NSEC3))
            .filter(|s| s.signer().as_deref() == Some(zone))
            .cloned()
            .collect();
        if proof.is_empty() {
            return Err(Failure::Bogus(ede::NSEC_MISSING, "no NSEC or NSEC3 proof"));
        }
        for set in &proof {
            self.verify(set, keys).map_err(bogus)?;
        }
        Ok(proof)
    }

    fn verify(&self, set: &RrSet, keys: &RrSet) -> Result<(), Bogus> {
        verify_rrset_with_keys(
            set,
            &set.sigs,
            &keys.rdatas,
            self.unix_now,
            MAX_VERIFICATIONS,
        )
        .map(|_| ())
    }

    /// The zone holding `name`'s data of `rtype` as far as the cache knows: the deepest
    /// name at or above it with a cached NS RRset (a DS lives above its owner's cut),
    /// else the anchor covering it, else the root.
    fn zone_of(&self, name: &[u8], rtype: u16) -> Vec<u8> {
        let mut at = if rtype == rtype::DS {
            parent(name)
        } else {
            Some(name)
        };
        while let Some(candidate) = at {
            let is_cut = matches!(
                self.cache.get(self.now, candidate, rtype::NS),
                Some(Cached::Set(..))
            );
            let is_anchor = self.anchors.at(candidate).is_some();
            if is_cut || is_anchor {
                return candidate.to_vec();
            }
            at = parent(candidate);
        }
        b"\0".to_vec()
    }

    /// The keys of `zone`, from the anchor covering it down.
    fn zone_keys(&self, zone: &[u8], depth: usize) -> Next<Keys> {
        if depth > MAX_DEPTH {
            return Next::Ready(Keys::Bogus(Failure::Limit("chain of trust too long")));
        }
        let Some(anchor) = self.anchors.covering(zone) else {
            return Next::Ready(Keys::Insecure);
        };
        if anchor.zone == zone {
            let (ds, dnskeys) = (anchor.ds.clone(), anchor.dnskeys.clone());
            return self.dnskeys(zone, &ds, &dnskeys);
        }
        let Some((cached, security)) =
            self.cache
                .get_checked(self.now, zone, rtype::DS, Trust::Glue)
        else {
            return Next::Need(zone.to_vec(), rtype::DS);
        };
        let status = match self.cache.zone_status(self.now, zone) {
            Some(status) => status,
            None => ready!(self.place_in_chain(zone, &cached, security, depth)),
        };
        match (status, cached) {
            (ZoneStatus::Insecure, _) => Next::Ready(Keys::Insecure),
            (ZoneStatus::Bogus, _) => Next::Ready(Keys::Bogus(Failure::Bogus(
                ede::DNSSEC_BOGUS,
                "the chain of trust breaks at the zone's DS",
            ))),
            (ZoneStatus::Signed, Cached::Set(ds, _)) => self.dnskeys(zone, &ds.rdatas, &[]),
            (ZoneStatus::NoCut, Cached::NoData(denial, _)) => {
                // Its names are the enclosing zone's: that zone's keys.
                let signer = denial.sets().find_map(RrSet::signer);
                match signer.filter(|s| s.len() < zone.len() && is_at_or_below(zone, s)) {
                    Some(signer) => self.zone_keys(&signer, depth + 1),
                    None => Next::Ready(Keys::Insecure),
                }
            }
            // The DS entry changed since the status was found: find it again.
            _ => Next::Need(zone.to_vec(), rtype::DS),
        }
    }

    /// Finds `zone`'s place in the chain of trust from its DS entry (`cached`, of
    /// `security`), keeps it in the cache with the entry's TTL, and marks the entry.
    fn place_in_chain(
        &self,
        zone: &[u8],
        cached: &Cached,
        security: Security,
        depth: usize,
    ) -> Next<ZoneStatus> {
        let (status, data, ttl) = match cached {
            Cached::Set(ds, ttl) => {
                let (status, data) = match security {
                    Security::Bogus => (ZoneStatus::Bogus, Security::Bogus),
                    _ => ready!(self.check_ds(zone, ds, depth)),
                };
                (status, data, *ttl)
            }
            Cached::NoData(denial, ttl) => {
                let sets: Vec<RrSet> = denial.sets().cloned().collect();
                let (status, data) = ready!(self.check_no_ds(zone, &sets, depth));
                (status, data, *ttl)
            }
            Cached::NxDomain(_, ttl) => (ZoneStatus::Bogus, Security::Bogus, *ttl),
        };
        let kind = match cached {
            Cached::NxDomain(..) => None,
            _ => Some(rtype::DS),
        };
        self.cache.set_security(self.now, zone, kind, data);
        self.cache.set_zone_status(self.now, zone, status, ttl);
        Next::Ready(status)
    }

    /// Verifies the DS RRset of `zone` with its parent's keys: the zone's status and the
    /// RRset's.
    fn check_ds(&self, zone: &[u8], ds: &RrSet, depth: usize) -> Next<(ZoneStatus, Security)> {
        let signer = match ds.signer() {
            Some(signer) if signer.len() < zone.len() && is_at_or_below(zone, &signer) => signer,
            Some(_) => return Next::Ready((ZoneStatus::Bogus, Security::Bogus)),
            None => parent(zone).map_or_else(|| b"\0".to_vec(), |p| self.zone_of(p, rtype::NS)),
        };
        Next::Ready(match ready!(self.zone_keys(&signer, depth + 1)) {
            Keys::Insecure => (ZoneStatus::Insecure, Security::Insecure),
            Keys::Bogus(_) => (ZoneStatus::Bogus, Security::Bogus),
            Keys::Secure(keys) => match self.verify(ds, &keys) {
                Ok(()) => (ZoneStatus::Signed, Security::Secure),
                Err(_) => (ZoneStatus::Bogus, Security::Bogus),
            },
        })
    }

    /// Checks the proof that `zone` has no DS (`denial`: the negative answer's SOA and
    /// NSEC/NSEC3 RRsets): an insecure delegation, or no zone cut at all. The zone's
    /// status and the denial's.
    fn check_no_ds(
        &self,
        zone: &[u8],
        denial: &[RrSet],
        depth: usize,
    ) -> Next<(ZoneStatus, Security)> {
        let signer = denial
            .iter()
            .filter(|s| matches!(s.rtype, rtype::NSEC | rtype::NSEC3 | rtype::SOA))
            .find_map(RrSet::signer);
        let Some(signer) = signer.filter(|s| s.len() < zone.len() && is_at_or_below(zone, s))
        else {
            // Unsigned: only an insecure parent may say so.
            let above = parent(zone).map_or_else(|| b"\0".to_vec(), |p| self.zone_of(p, rtype::NS));
            return Next::Ready(match ready!(self.zone_keys(&above, depth + 1)) {
                Keys::Secure(_) | Keys::Bogus(_) => (ZoneStatus::Bogus, Security::Bogus),
                Keys::Insecure => (ZoneStatus::Insecure, Security::Insecure),
            });
        };
        let keys = match ready!(self.zone_keys(&signer, depth + 1)) {
            Keys::Secure(keys) => keys,
            Keys::Insecure => return Next::Ready((ZoneStatus::Insecure, Security::Insecure)),
            Keys::Bogus(_) => return Next::Ready((ZoneStatus::Bogus, Security::Bogus)),
        };
        let proven = (|| -> Result<Result<Proof, denial::DenialError>, Failure> {
            for soa in denial.iter().filter(|s| s.rtype == rtype::SOA) {
                self.verify(soa, &keys).map_err(bogus)?;
            }
            let proof = self.verified_proof(denial, &signer, &keys)?;
            Ok(if proof.iter().any(|s| s.rtype == rtype::NSEC3) {
                denial::prove_nodata_nsec3(&proof, zone, rtype::DS, &signer)
            } else {
                denial::prove_nodata_nsec(&proof, zone, rtype::DS, &signer)
            })
        })();
        Next::Ready(match proven {
            Ok(Ok(Proof::NoDelegation)) => (ZoneStatus::NoCut, Security::Secure),
            Ok(Ok(Proof::Denied)) => (ZoneStatus::Insecure, Security::Secure),
            Ok(Ok(Proof::OptOut)) => (ZoneStatus::Insecure, Security::Insecure),
            Ok(Err(error)) if error.is_insecure() => (ZoneStatus::Insecure, Security::Insecure),
            Ok(Err(_)) | Err(_) => (ZoneStatus::Bogus, Security::Bogus),
        })
    }

    /// The DNSKEY RRset of `zone`, verified with the keys the `ds` RDATA designate or the
    /// `trusted` DNSKEY RDATA (an anchor's).
    fn dnskeys(&self, zone: &[u8], ds: &[Vec<u8>], trusted: &[Vec<u8>]) -> Next<Keys> {
        let usable_ds: Vec<&Vec<u8>> = ds
            .iter()
            .filter(|d| d.len() > 4 && is_supported_algorithm(d[2]) && is_supported_digest(d[3]))
            .collect();
        if usable_ds.is_empty() && trusted.is_empty() {
            // RFC 4035 §5.2: a DS of algorithms or digests we do not know: insecure.
            return Next::Ready(Keys::Insecure);
        }
        let Some((cached, security)) =
            self.cache
                .get_checked(self.now, zone, rtype::DNSKEY, Trust::Glue)
        else {
            return Next::Need(zone.to_vec(), rtype::DNSKEY);
        };
        let Cached::Set(keys, _) = cached else {
            return Next::Ready(Keys::Bogus(Failure::Bogus(
                ede::DNSKEY_MISSING,
                "the zone has no DNSKEY",
            )));
        };
        match security {
            Security::Secure => return Next::Ready(Keys::Secure(keys)),
            Security::Bogus => {
                return Next::Ready(Keys::Bogus(Failure::Bogus(
                    ede::DNSKEY_MISSING,
                    "the zone's DNSKEY RRset is bogus",
                )));
            }
            Security::Insecure | Security::Unchecked => {}
        }
        let entry_points: Vec<Vec<u8>> = keys
            .rdatas
            .iter()
            .filter(|key| {
                trusted.contains(key) || usable_ds.iter().any(|d| ds_matches(zone, key, d))
            })
            .cloned()
            .collect();
        let verified = if entry_points.is_empty() {
            Err(Bogus::NoMatchingKey)
        } else {
            verify_rrset_with_keys(
                &keys,
                &keys.sigs,
                &entry_points,
                self.unix_now,
                MAX_VERIFICATIONS,
            )
            .map(|_| ())
        };
        let status = if verified.is_ok() {
            Security::Secure
        } else {
            Security::Bogus
        };
        self.cache
            .set_security(self.now, zone, Some(rtype::DNSKEY), status);
        Next::Ready(match verified {
            Ok(()) => Keys::Secure(keys),
            Err(error) => Keys::Bogus(bogus(error)),
        })
    }
}

/// The status a denial proof gives.
fn proof_status(proven: Result<Proof, denial::DenialError>) -> Verdict {
    match proven {
        Ok(Proof::Denied | Proof::NoDelegation) => Ok(Security::Secure),
        Ok(Proof::OptOut) => Ok(Security::Insecure),
        Err(error) if error.is_insecure() => Ok(Security::Insecure),
        Err(error) => Err(denial_failure(error)),
    }
}
