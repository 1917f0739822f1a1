//! How a sign-in ends is decided once: by its flow (the site approved it, it landed) or by the
//! person (Cancel, closing its window), whoever comes first. A flow claims the ending before
//! it stores the session and a cancellation claims it before it says "cancelled", so a
//! cancelled sign-in never stores a session and a stored one is never reported as cancelled.

use std::sync::atomic::{AtomicBool, Ordering};

/// The one decision of how a sign-in ends.
#[derive(Debug, Default)]
pub struct Ending(AtomicBool);

impl Ending {
    /// Claims the ending; only the first caller gets `true`.
    pub fn claim(&self) -> bool {
        !self.0.swap(true, Ordering::SeqCst)
    }

    /// Whether the ending is decided.
    pub fn is_claimed(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn of_many_racing_claims_exactly_one_wins() {
        for _ in 0..100 {
            let ending = Arc::new(Ending::default());
            let winners: usize = (0..8)
                .map(|_| {
                    let ending = Arc::clone(&ending);
                    std::thread::spawn(move || ending.claim())
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|t| usize::from(t.join().unwrap()))
                .sum();
            assert_eq!(winners, 1);
            assert!(ending.is_claimed());
        }
    }
}
