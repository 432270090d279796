//! What a request's TSIG (RFC 8945) says under a zone's key policy: a zone with a key
//! accepts only requests signed with it; a signed request gets a signed answer.

use crate::clock::unix_now;

/// Why a request's signature was not accepted.
#[derive(Debug)]
pub(crate) struct Unverified {
    /// For the log.
    pub(crate) why: String,
    /// The TSIG error to answer with, when the failure is the signature itself (not the
    /// zone's policy).
    pub(crate) tsig_error: Option<dns_tsig::TsigError>,
}

/// What a request's TSIG said, under the zone's policy.
pub(crate) enum Signed {
    /// Unsigned, and the zone does not require a key.
    No,
    /// Signed with this key (the zone's, when it has one); the response is signed too.
    With(dns_tsig::ResponseSigner),
}

impl Signed {
    /// The signer for the response, if the request was signed.
    pub(crate) fn into_signer(self) -> Option<dns_tsig::ResponseSigner> {
        match self {
            Self::No => None,
            Self::With(signer) => Some(signer),
        }
    }
}

/// Checks `msg`'s TSIG against `keys` and the zone's `required` key.
pub(crate) fn check_signature(
    msg: &[u8],
    keys: &[dns_tsig::Key],
    required: Option<&dns_tsig::Key>,
) -> Result<Signed, Unverified> {
    let verified = dns_tsig::verify_request(msg, keys, unix_now()).map_err(|e| Unverified {
        why: e.to_string(),
        tsig_error: Some(e),
    })?;
    let refused = |why: String| Unverified {
        why,
        tsig_error: None,
    };
    match (verified, required) {
        (None, None) => Ok(Signed::No),
        (None, Some(key)) => Err(refused(format!(
            "unsigned, but the zone requires key {key:?}"
        ))),
        (Some((key, _)), Some(required)) if key != required => Err(refused(format!(
            "signed with {key:?}, but the zone requires {required:?}"
        ))),
        (Some((key, mac)), _) => Ok(Signed::With(dns_tsig::ResponseSigner::new(
            key.clone(),
            mac,
        ))),
    }
}

/// Appends the TSIG record of an error answer to `response` (RFC 8945 §5.3.2: BADKEY and
/// BADSIG unsigned, BADTIME signed) when the request failed for a TSIG reason.
pub(crate) fn append_error(
    response: &mut Vec<u8>,
    request: &[u8],
    keys: &[dns_tsig::Key],
    why: &Unverified,
) {
    if let Some(error) = why.tsig_error {
        dns_tsig::append_error_tsig(response, request, keys, error, unix_now());
    }
}
