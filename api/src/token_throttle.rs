//! Token throttling: a client address that keeps presenting refresh tokens or API keys that do not work is
//! refused with a 429 and `Retry-After`, before its next one is looked up.
//!
//! Both are 256-bit random secrets, so guessing is hopeless; what this bounds is the work a stranger makes the
//! database do (one indexed lookup per token) and the noise of a client stuck on a dead token. Each kind has its
//! own count per address: `free` failures, then a wait after the last failure of 1 s, doubling up to
//! `max_delay`. Only failures are written: a good token costs one read of the count, so a busy client with a
//! valid key is never slowed, and other addresses are never touched. The counts are bounded
//! ([`FailureCounts`]). Concurrent bad tokens from one address may all be looked up before the first failure
//! is counted; the connection limit bounds how many that can be.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::failure_counts::{address_key, FailureCounts};

/// The throttle's numbers; the defaults suit a public server.
#[derive(Debug, Clone, Copy)]
pub struct TokenThrottleRules {
    /// Failures an address may have of each kind before it must wait.
    pub free: u32,
    pub max_delay: Duration,
    pub forget_after: Duration,
    /// Most addresses kept per kind; the least recently used go first.
    pub max_records: u64,
}

impl Default for TokenThrottleRules {
    fn default() -> Self {
        TokenThrottleRules {
            free: 20,
            max_delay: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(15 * 60),
            max_records: 100_000,
        }
    }
}

/// What kind of token failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Token {
    RefreshToken,
    ApiKey,
}

/// The throttle. Cheap to clone: clones share the counts.
#[derive(Clone)]
pub struct TokenThrottle {
    rules: TokenThrottleRules,
    failures: FailureCounts<(Token, String)>,
}

impl TokenThrottle {
    pub fn new(rules: TokenThrottleRules) -> Self {
        TokenThrottle {
            rules,
            failures: FailureCounts::new(rules.max_records, rules.forget_after, rules.max_delay),
        }
    }

    /// Called before a token is looked up. `Err(wait)` means: refuse with 429 and `Retry-After: wait`, without
    /// looking it up.
    pub fn check(&self, token: Token, address: IpAddr) -> Result<(), Duration> {
        self.check_at(token, &address_key(address), Instant::now())
    }

    /// The token did not work.
    pub fn failed(&self, token: Token, address: IpAddr) {
        self.failures.add((token, address_key(address)), Instant::now());
    }

    fn check_at(&self, token: Token, address: &str, now: Instant) -> Result<(), Duration> {
        match self.failures.wait(&(token, address.to_owned()), self.rules.free, now) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> TokenThrottle {
        TokenThrottle::new(TokenThrottleRules {
            free: 3,
            ..TokenThrottleRules::default()
        })
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_address_past_its_free_failures_waits_and_others_do_not() {
        let throttle = throttle();
        let stranger = ip("203.0.113.5");
        for _ in 0..3 {
            assert_eq!(throttle.check(Token::ApiKey, stranger), Ok(()));
            throttle.failed(Token::ApiKey, stranger);
        }
        assert!(throttle.check(Token::ApiKey, stranger).is_err());
        assert_eq!(
            throttle.check(Token::ApiKey, ip("203.0.113.6")),
            Ok(()),
            "another address"
        );
        assert_eq!(throttle.check(Token::RefreshToken, stranger), Ok(()), "another kind");
    }

    #[test]
    fn the_wait_ends() {
        let throttle = throttle();
        let address = address_key(ip("192.0.2.1"));
        let now = Instant::now();
        for _ in 0..3 {
            throttle.failures.add((Token::RefreshToken, address.clone()), now);
        }
        assert_eq!(
            throttle.check_at(Token::RefreshToken, &address, now),
            Err(Duration::from_secs(1))
        );
        assert_eq!(
            throttle.check_at(Token::RefreshToken, &address, now + Duration::from_secs(1)),
            Ok(())
        );
    }
}
