//! The fast reader's one failure, shared by all its parts: it does not take the text, and the
//! caller reads it with `domain`'s general scanner instead.

/// This reader does not take the text; read it with the general scanner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GiveUp;
