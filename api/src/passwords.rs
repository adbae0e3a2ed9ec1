//! Password hashing: argon2id with deliberate parameters, on a fixed set of hashing threads behind a bounded
//! queue, so that no amount of login or register traffic can hash more than a few passwords at once.
//!
//! Each hash holds [`MEMORY_KIB`] of memory while it runs. Running hashes on `spawn_blocking` let every
//! concurrent login take its own thread and its own 19 MiB (and, with glibc, its own malloc arena that kept the
//! memory afterwards): 64 logins at once grew the process by gigabytes. Here at most `threads` hashes run at
//! once, each thread reuses its own memory, and a request that finds the queue full is refused at once with a
//! 429 instead of waiting without bound.

use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::oneshot;

use crate::error::ApiError;

/// OWASP's first recommended argon2id configuration (Password Storage Cheat Sheet): 19 MiB, two passes, one
/// lane. It is also the argon2 crate's default, so hashes stored before these were spelled out verify the same.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const LANES: u32 = 1;

/// An argon2id hash (the parameters above) of a random password nobody knows. Login verifies against it when
/// the user does not exist, so that both cases cost the same time.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$16wVbAMYMKtDCxJClAzaxw$FPtTO39C6ka9b6K4ogl6/WnU2MeAwQQl3pduYFm9/fM";

/// How many hashing threads run, and how many requests may wait for one.
#[derive(Debug, Clone, Copy)]
pub struct HashingSettings {
    pub threads: usize,
    pub queue: usize,
}

impl HashingSettings {
    /// `threads` hashing threads, and a queue that a burst of logins fits in while keeping the wait to a few
    /// seconds (a hash takes about 50 ms on one core).
    pub fn with_threads(threads: usize) -> Self {
        let threads = threads.max(1);
        HashingSettings {
            threads,
            queue: 32 * threads,
        }
    }
}

impl Default for HashingSettings {
    /// One thread per core.
    fn default() -> Self {
        HashingSettings::with_threads(std::thread::available_parallelism().map_or(2, usize::from))
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The hashing pool. Cheap to clone; the threads stop when the last clone is dropped.
#[derive(Clone)]
pub struct Passwords {
    jobs: Arc<SyncSender<Job>>,
}

impl Passwords {
    pub fn new(settings: HashingSettings) -> Self {
        let (jobs, queue) = sync_channel::<Job>(settings.queue.max(1));
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for index in 0..settings.threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("syndic-hash-{index}"))
                .spawn(move || loop {
                    // The lock is held only while waiting for the next job, never while hashing.
                    let job = match queue.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                })
                .expect("a hashing thread starts");
        }
        Passwords { jobs: Arc::new(jobs) }
    }

    /// Hashes a password with argon2id and a random salt.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move || hash_password(&password)).await?
    }

    /// Verifies against the user's hash, or against the dummy hash when there is no user (then the answer is
    /// always `false`, after the same amount of work).
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ApiError> {
        self.run(move || match hash {
            Some(hash) => verify_password(&password, &hash),
            None => {
                verify_password(&password, DUMMY_HASH);
                false
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(work());
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                metrics::counter!("syndic_password_hashes_refused_total").increment(1);
                return Err(ApiError::RateLimited {
                    message: "too many sign-ins at once; retry in a moment".to_owned(),
                    retry_after_seconds: 1,
                });
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(ApiError::Internal("the password hashing threads are gone".into()))
            }
        }
        answer
            .await
            .map_err(|_| ApiError::Internal("a password hashing job panicked".into()))
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with argon2id and a random salt. CPU- and memory-heavy: call through [`Passwords`].
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|error| ApiError::Internal(format!("cannot encode a salt: {error}").into()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| ApiError::Internal(format!("cannot hash a password: {error}").into()))
}

/// Whether `password` matches the stored hash, with the parameters the hash names. An unparsable hash matches
/// nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => argon2().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(error) => {
            tracing::error!(%error, "a stored password hash cannot be parsed");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse").expect("hashes");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsE", &hash));
    }

    #[test]
    fn the_same_password_hashes_differently() {
        assert_ne!(
            hash_password("same").expect("hashes"),
            hash_password("same").expect("hashes")
        );
    }

    #[test]
    fn the_dummy_hash_uses_the_chosen_parameters() {
        let fresh = hash_password("anything").expect("hashes");
        let prefix = |hash: &str| hash.rsplitn(3, '$').last().map(str::to_owned);
        assert_eq!(prefix(DUMMY_HASH), prefix(&fresh));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn an_unparsable_hash_matches_nothing() {
        assert!(!verify_password("", "not a hash"));
    }

    #[tokio::test]
    async fn verification_without_a_user_is_false() {
        let passwords = Passwords::new(HashingSettings { threads: 1, queue: 4 });
        assert!(!passwords.verify("password".to_owned(), None).await.expect("runs"));
    }

    #[tokio::test]
    async fn hash_then_verify_through_the_pool() {
        let passwords = Passwords::new(HashingSettings { threads: 1, queue: 4 });
        let hash = passwords.hash("password".to_owned()).await.expect("hashes");
        assert!(passwords.verify("password".to_owned(), Some(hash)).await.expect("runs"));
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_with_a_429_not_queued() {
        // One thread, a queue of one: of six requests sent at once, at most two can be taken.
        let passwords = Passwords::new(HashingSettings { threads: 1, queue: 1 });
        let attempts = (0..6).map(|_| passwords.verify("password".to_owned(), None));
        let results = futures::future::join_all(attempts).await;
        let refused = results
            .iter()
            .filter(|result| matches!(result, Err(ApiError::RateLimited { .. })))
            .count();
        let verified = results.iter().filter(|result| matches!(result, Ok(false))).count();
        assert!(refused >= 4, "{refused} refused of 6");
        assert_eq!(refused + verified, 6);
    }
}
