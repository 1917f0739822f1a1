//! Secrets that must never reach a log line or an error message.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize as _;

/// A session token or script key.
///
/// `Debug` is redacted and there is no `Display`, so the value can only leave through an
/// explicit [`Secret::expose`] (or serialisation, which the local protocol needs). The buffer
/// is wiped on drop.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Call it only where the value is handed over, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("0123abcd-token");
        let shown = format!("{secret:?} {:?}", Some(&secret));
        assert!(!shown.contains("0123abcd"), "{shown}");
        assert_eq!(secret.expose(), "0123abcd-token");
    }

    #[test]
    fn serialises_as_a_plain_string() {
        let json = serde_json::to_string(&Secret::new("t")).unwrap();
        assert_eq!(json, "\"t\"");
    }
}
