//! Wall-clock time as epoch seconds, the unit FPT uses in its cookies.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    epoch_seconds(SystemTime::now())
}

/// `time` as seconds since the Unix epoch.
pub fn epoch_seconds(time: SystemTime) -> i64 {
    // A clock before 1970 is a broken machine; treating it as the epoch keeps every expiry
    // check conservative (everything looks expired) instead of panicking.
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
