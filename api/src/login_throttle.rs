//! Login throttling: failed logins slow down further attempts, per account and client address, per client
//! address, and per account, without letting a stranger lock a user out.
//!
//! Three counters of failures, each forgotten after `forget_after` without a failure:
//! - per account and address: `pair_free` failures, then each attempt must wait twice as long as the last
//!   (1 s, 2 s, 4 s … up to `max_delay`) after the previous failure, or get a 429 with `Retry-After`;
//! - per address, across accounts (password spraying): the same, after `address_free` failures;
//! - per account, across addresses (a botnet on one account): the same after `account_free` failures, but only
//!   for addresses that have never logged into that account. The owner's usual addresses keep working, so a
//!   stranger cannot lock the owner out; only new addresses are slowed while the account is under attack.
//!
//! An attempt counts as a failure when it starts, so that concurrent attempts cannot all slip through before
//! the first failure is recorded; a success takes it back. The counts live in [`FailureCounts`], bounded by
//! `max_records`; IPv6 clients are counted by /64.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::ops::compute::Op;
use moka::sync::Cache;

use crate::failure_counts::{address_key, FailureCounts};

/// The throttle's numbers; the defaults suit a public server.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleRules {
    pub pair_free: u32,
    pub address_free: u32,
    pub account_free: u32,
    pub max_delay: Duration,
    pub forget_after: Duration,
    /// Most records each counter keeps; the least recently used go first.
    pub max_records: u64,
}

impl Default for ThrottleRules {
    fn default() -> Self {
        ThrottleRules {
            pair_free: 5,
            address_free: 20,
            account_free: 20,
            max_delay: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(15 * 60),
            max_records: 100_000,
        }
    }
}

/// Who is trying: the account (its id when it exists, else the identifier as typed, folded) and the address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attempt {
    pub account: String,
    pub address: String,
}

impl Attempt {
    pub fn new(account: String, address: IpAddr) -> Self {
        Attempt {
            account,
            address: address_key(address),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Counter {
    Pair(Attempt),
    Address(String),
    Account(String),
}

/// How many addresses are remembered per account as ones it logged in from.
const KNOWN_ADDRESSES: usize = 8;
/// How long a successful login keeps an address known.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The throttle. Cheap to clone: clones share the counters.
#[derive(Clone)]
pub struct LoginThrottle {
    rules: ThrottleRules,
    failures: FailureCounts<Counter>,
    known_addresses: Cache<String, Arc<Vec<String>>>,
}

impl LoginThrottle {
    pub fn new(rules: ThrottleRules) -> Self {
        LoginThrottle {
            rules,
            failures: FailureCounts::new(rules.max_records, rules.forget_after, rules.max_delay),
            known_addresses: Cache::builder()
                .max_capacity(rules.max_records)
                .time_to_idle(KNOWN_FOR)
                .build(),
        }
    }

    /// Called before the password is checked. `Err(wait)` means: refuse with 429 and `Retry-After: wait`,
    /// without checking the password. `Ok` counts the attempt as a failure until [`Self::succeeded`] says otherwise.
    pub fn begin(&self, attempt: &Attempt) -> Result<(), Duration> {
        self.begin_at(attempt, Instant::now())
    }

    fn begin_at(&self, attempt: &Attempt, now: Instant) -> Result<(), Duration> {
        let counters = self.counters(attempt);
        let wait = counters
            .iter()
            .filter_map(|(counter, free)| self.failures.wait(counter, *free, now))
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        for (counter, _) in counters {
            self.failures.add(counter, now);
        }
        Ok(())
    }

    /// The password was right: forget this pair's failures, take back the attempt from the other counters, and
    /// remember the address as one the account logs in from.
    pub fn succeeded(&self, attempt: &Attempt) {
        self.failures.forget(&Counter::Pair(attempt.clone()));
        self.failures.take_back(Counter::Address(attempt.address.clone()));
        self.failures.take_back(Counter::Account(attempt.account.clone()));
        self.known_addresses
            .entry(attempt.account.clone())
            .and_compute_with(|entry| {
                let mut addresses: Vec<String> = entry.map(|entry| entry.into_value().to_vec()).unwrap_or_default();
                addresses.retain(|address| address != &attempt.address);
                addresses.insert(0, attempt.address.clone());
                addresses.truncate(KNOWN_ADDRESSES);
                Op::Put(Arc::new(addresses))
            });
    }

    /// The counters an attempt is held to, each with its number of free failures.
    fn counters(&self, attempt: &Attempt) -> Vec<(Counter, u32)> {
        let mut counters = vec![
            (Counter::Pair(attempt.clone()), self.rules.pair_free),
            (Counter::Address(attempt.address.clone()), self.rules.address_free),
        ];
        let known = self
            .known_addresses
            .get(&attempt.account)
            .is_some_and(|addresses| addresses.contains(&attempt.address));
        if !known {
            counters.push((Counter::Account(attempt.account.clone()), self.rules.account_free));
        }
        counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> ThrottleRules {
        ThrottleRules {
            pair_free: 3,
            address_free: 10,
            account_free: 6,
            ..ThrottleRules::default()
        }
    }

    fn attempt(account: &str, address: &str) -> Attempt {
        Attempt::new(account.to_owned(), address.parse().unwrap())
    }

    #[test]
    fn the_free_failures_pass_then_attempts_wait_longer_and_longer() {
        let throttle = LoginThrottle::new(rules());
        let bob = attempt("bob", "192.0.2.1");
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(throttle.begin_at(&bob, start), Ok(()));
        }
        // The fourth attempt at once must wait 1 s; after it, the next waits 2 s.
        assert_eq!(throttle.begin_at(&bob, start), Err(Duration::from_secs(1)));
        let later = start + Duration::from_secs(1);
        assert_eq!(throttle.begin_at(&bob, later), Ok(()));
        assert_eq!(throttle.begin_at(&bob, later), Err(Duration::from_secs(2)));
        assert_eq!(throttle.begin_at(&bob, later + Duration::from_secs(2)), Ok(()));
    }

    #[test]
    fn a_success_clears_the_pair_and_takes_back_the_attempt() {
        let throttle = LoginThrottle::new(rules());
        let bob = attempt("bob", "192.0.2.1");
        let now = Instant::now();
        for _ in 0..3 {
            throttle.begin_at(&bob, now).unwrap();
            throttle.succeeded(&bob);
        }
        // Successes never add up to a block, on any counter.
        for _ in 0..20 {
            assert_eq!(throttle.begin_at(&bob, now), Ok(()));
            throttle.succeeded(&bob);
        }
    }

    #[test]
    fn one_address_spraying_many_accounts_is_slowed() {
        let throttle = LoginThrottle::new(rules());
        let now = Instant::now();
        for index in 0..10 {
            assert_eq!(
                throttle.begin_at(&attempt(&format!("user{index}"), "192.0.2.9"), now),
                Ok(())
            );
        }
        assert!(throttle.begin_at(&attempt("user99", "192.0.2.9"), now).is_err());
        // Another address is not.
        assert_eq!(throttle.begin_at(&attempt("user99", "192.0.2.10"), now), Ok(()));
    }

    #[test]
    fn a_botnet_on_one_account_cannot_lock_out_its_owner() {
        let throttle = LoginThrottle::new(rules());
        let now = Instant::now();
        let owner = attempt("alice", "198.51.100.7");
        throttle.begin_at(&owner, now).unwrap();
        throttle.succeeded(&owner);
        // Six strangers fail once each: the account's counter is used up for addresses it does not know.
        for index in 0..6 {
            assert_eq!(
                throttle.begin_at(&attempt("alice", &format!("203.0.113.{index}")), now),
                Ok(())
            );
        }
        assert!(throttle.begin_at(&attempt("alice", "203.0.113.200"), now).is_err());
        // The owner's own address still gets through.
        assert_eq!(throttle.begin_at(&owner, now), Ok(()));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let throttle = LoginThrottle::new(rules());
        let now = Instant::now();
        for index in 0..3 {
            let address = format!("2001:db8:1:2::{index:x}");
            assert_eq!(throttle.begin_at(&attempt("bob", &address), now), Ok(()));
        }
        assert!(throttle.begin_at(&attempt("bob", "2001:db8:1:2:ffff::1"), now).is_err());
        assert_eq!(throttle.begin_at(&attempt("bob", "2001:db8:1:3::1"), now), Ok(()));
    }
}
