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

/// The earliest time a site could sensibly name: 2000-01-01.
const SANE_FROM: i64 = 946_684_800;
/// The latest: 2200-01-01.
const SANE_UNTIL: i64 = 7_258_118_400;

/// A time a site sent (a cookie, a JSON field, a `Date` header), or `None` when it lies outside
/// 2000–2200: no FPT session ends then, and keeping such values out means no later arithmetic
/// on them can overflow.
pub fn from_site(epoch_seconds: i64) -> Option<i64> {
    (SANE_FROM..=SANE_UNTIL)
        .contains(&epoch_seconds)
        .then_some(epoch_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_from_a_site_outside_2000_to_2200_are_unknown() {
        for wild in [i64::MIN, -1, 0, 946_684_799, 7_258_118_401, i64::MAX] {
            assert_eq!(from_site(wild), None, "{wild}");
        }
        for sane in [946_684_800, 1_900_000_000, 7_258_118_400] {
            assert_eq!(from_site(sane), Some(sane));
        }
    }
}
