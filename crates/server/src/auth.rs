//! Secrets handling for accounts (issue 3 groundwork, not yet routed): password hashing with
//! argon2id off the async threads, the keyed hash that is all the store keeps of an identity number,
//! and opaque tokens (sessions, API tokens, CSRF, reset codes) of which the store keeps only a hash.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use fitforall_core::identity::ResidentIdNumber;
use hmac::{Hmac, Mac};
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;
/// Random bytes in a session or API token (256 bits).
pub const TOKEN_BYTES: usize = 32;
/// Shortest server secret accepted (it keys the identity-number hashes).
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("the password must have at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
    #[error("the password must not be only digits")]
    OnlyDigits,
    #[error("the password must not contain the phone number")]
    ContainsPhone,
}

/// The password rule, checked before hashing.
pub fn check_password_rule(password: &str, phone: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordError::TooLong);
    }
    if password.chars().all(|c| c.is_ascii_digit()) {
        return Err(PasswordError::OnlyDigits);
    }
    if !phone.is_empty() && password.contains(phone) {
        return Err(PasswordError::ContainsPhone);
    }
    Ok(())
}

fn argon2id() -> Argon2<'static> {
    // argon2id, OWASP's second recommended setting: 19 MiB, 2 passes, 1 lane.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters"))
}

fn hash_password_blocking(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rngs::StdRng::from_os_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt");
    argon2id().hash_password(password.as_bytes(), &salt).expect("argon2 with valid parameters cannot fail").to_string()
}

fn verify_password_blocking(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    argon2id().verify_password(password.as_bytes(), &parsed).is_ok()
}

/// Hashes on a blocking thread (tens of milliseconds of CPU must not stall the async workers).
pub async fn hash_password(password: String) -> String {
    tokio::task::spawn_blocking(move || hash_password_blocking(&password)).await.expect("the hashing task does not panic")
}

/// Verifies on a blocking thread. A malformed stored hash verifies as false.
pub async fn verify_password(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password_blocking(&password, &phc)).await.expect("the verifying task does not panic")
}

/// Spends the same time as a real verification, for a login with an unknown phone number (so the
/// answer time does not tell which phone numbers have accounts).
pub async fn verify_against_nothing(password: String) {
    static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| hash_password_blocking("fitforall: no such account"));
    let _ = tokio::task::spawn_blocking(move || verify_password_blocking(&password, &DUMMY_HASH)).await;
}

/// The keyed hash of identity numbers: HMAC-SHA256 with a key derived from the server secret. Without
/// the secret the hashes cannot be tested against guessed numbers (the number space is small).
#[derive(Clone)]
pub struct IdentityHasher {
    key: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the server secret must be at least {MIN_SECRET_BYTES} bytes")]
pub struct SecretTooShort;

impl IdentityHasher {
    pub fn new(server_secret: &[u8]) -> Result<IdentityHasher, SecretTooShort> {
        if server_secret.len() < MIN_SECRET_BYTES {
            return Err(SecretTooShort);
        }
        let mut derivation = Sha256::new();
        derivation.update(b"fitforall identity-number key v1\0");
        derivation.update(server_secret);
        Ok(IdentityHasher { key: derivation.finalize().into() })
    }

    pub fn hash(&self, number: &ResidentIdNumber) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(number.as_str().as_bytes());
        to_hex(&mac.finalize().into_bytes())
    }

    /// A keyed digest of other short secrets (reset codes), separated from identity numbers by a prefix:
    /// a leaked table cannot be searched offline without the server secret.
    pub fn keyed_digest(&self, purpose: &str, text: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(text.as_bytes());
        to_hex(&mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for IdentityHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityHasher(…)")
    }
}

/// A new opaque token (hex, 256 bits) and the hash the store keeps of it.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rngs::StdRng::from_os_rng().fill_bytes(&mut bytes);
    let token = to_hex(&bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// A new application-generated id (accounts, grants, audit entries): random and positive, so ids
/// reveal neither counts nor order and need no coordination between processes or shards.
pub fn new_id() -> i64 {
    // Seeded from the OS once per thread: ids are made for every booking of a rush, and a fresh
    // OS-seeded generator per id costs a system call and a ChaCha set-up each time.
    thread_local! {
        static IDS: std::cell::RefCell<rand::rngs::StdRng> = std::cell::RefCell::new(rand::rngs::StdRng::from_os_rng());
    }
    IDS.with(|ids| (ids.borrow_mut().next_u64() >> 1) as i64)
}

/// Milliseconds from the Unix epoch to 2026-01-01T00:00:00Z, the origin of [`new_time_ordered_id`].
const TIME_ORDERED_ID_EPOCH_MS: i64 = 1_767_225_600_000;
/// Low bits of a time-ordered id: a counter of this process.
const TIME_ORDERED_ID_COUNTER_BITS: u32 = 21;

/// A new id for a row written in bulk (bookings): the milliseconds since 2026-01-01 UTC of `now` in
/// the high 42 bits (enough until the year 2165), then 21 bits of a counter of this process that
/// starts at a random value. Rows made one after the other therefore land at the right edge of
/// every index keyed by id, instead of dirtying a random page of each per row. Such an id tells
/// when it was made (as the row's `created_at` does), not how many rows exist. Unique within a
/// process unless it makes 2 million in one millisecond; two processes collide only when they make
/// ids in the same millisecond with overlapping counter ranges, and the primary key refuses the
/// second (the rush engine then decides that batch again with new ids).
pub fn new_time_ordered_id(now: chrono::DateTime<chrono::Utc>) -> i64 {
    static COUNTER: std::sync::OnceLock<std::sync::atomic::AtomicU64> = std::sync::OnceLock::new();
    let counter = COUNTER.get_or_init(|| std::sync::atomic::AtomicU64::new(rand::rngs::StdRng::from_os_rng().next_u64()));
    let low_mask = (1u64 << TIME_ORDERED_ID_COUNTER_BITS) - 1;
    let low = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) & low_mask;
    let high_max = (1i64 << (63 - TIME_ORDERED_ID_COUNTER_BITS)) - 1;
    let milliseconds = (now.timestamp_millis() - TIME_ORDERED_ID_EPOCH_MS).clamp(0, high_max);
    (milliseconds << TIME_ORDERED_ID_COUNTER_BITS) | low as i64
}

/// A new random password of 16 letters and digits, for accounts created by an administrator.
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::StdRng::from_os_rng();
    (0..16).map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char).collect()
}

/// Digits in a password-reset code.
pub const RESET_CODE_DIGITS: usize = 8;

/// A new password-reset code: [`RESET_CODE_DIGITS`] random decimal digits (leading zeros kept). The
/// store keeps `token_hash("{phone}:{code}")`.
pub fn new_reset_code() -> String {
    let mut rng = rand::rngs::StdRng::from_os_rng();
    (0..RESET_CODE_DIGITS).map(|_| char::from(b'0' + (rng.next_u32() % 10) as u8)).collect()
}

/// SHA-256 of a token, hex: what the store keeps (a leaked table does not let anyone log in).
pub fn token_hash(token: &str) -> String {
    to_hex(&Sha256::digest(token.as_bytes()))
}

/// Constant-time comparison for CSRF tokens and the like.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn time_ordered_ids_are_unique_positive_and_follow_the_clock() {
        let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&chrono::Utc);
        let same_moment = at("2026-12-01T08:00:00.123Z");
        let ids: std::collections::HashSet<i64> = (0..100_000).map(|_| new_time_ordered_id(same_moment)).collect();
        assert_eq!(ids.len(), 100_000);
        let one_ms_later = new_time_ordered_id(at("2026-12-01T08:00:00.124Z"));
        assert!(ids.iter().all(|id| *id > 0 && *id < one_ms_later));
        assert_eq!(new_time_ordered_id(same_moment) >> TIME_ORDERED_ID_COUNTER_BITS, new_time_ordered_id(same_moment) >> TIME_ORDERED_ID_COUNTER_BITS);
        assert!(new_time_ordered_id(at("2165-01-01T00:00:00Z")) > 0);
        assert!(new_time_ordered_id(at("2025-06-01T00:00:00Z")) >> TIME_ORDERED_ID_COUNTER_BITS == 0, "before the origin: clamped, still positive");
    }

    #[test]
    fn password_rule() {
        let check = |password: &str, expect: Result<(), PasswordError>| assert_eq!(check_password_rule(password, "13812345678"), expect, "{password:?}");
        check("correct horse", Ok(()));
        check("short1!", Err(PasswordError::TooShort));
        check("口令很长的中文密码", Ok(()));
        check("12345678901", Err(PasswordError::OnlyDigits));
        check("my13812345678pw", Err(PasswordError::ContainsPhone));
        check(&"x".repeat(129), Err(PasswordError::TooLong));
    }

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse".into()).await;
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password("correct horse".into(), hash.clone()).await);
        assert!(!verify_password("correct horsE".into(), hash.clone()).await);
        assert!(!verify_password("correct horse".into(), "not a hash".into()).await);
        assert_ne!(hash, hash_password("correct horse".into()).await, "salted");
    }

    #[test]
    fn identity_hash_is_keyed_and_stable() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let number = ResidentIdNumber::parse("330106199003071236", today, |_| true).unwrap();
        let a = IdentityHasher::new(&[7u8; 32]).unwrap();
        let b = IdentityHasher::new(&[8u8; 32]).unwrap();
        assert_eq!(a.hash(&number), a.hash(&number));
        assert_ne!(a.hash(&number), b.hash(&number), "another secret, another hash");
        assert_eq!(a.hash(&number).len(), 64);
        assert!(!a.hash(&number).contains("330106"));
        assert_eq!(IdentityHasher::new(b"short").unwrap_err(), SecretTooShort);
        assert_eq!(format!("{a:?}"), "IdentityHasher(…)");
    }

    #[test]
    fn ids_are_positive_and_passwords_pass_the_rule() {
        for _ in 0..100 {
            assert!(new_id() > 0);
            let password = new_password();
            assert_eq!(password.len(), 16);
            assert_eq!(check_password_rule(&password, "13800000000"), Ok(()));
        }
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn reset_codes_are_eight_random_digits() {
        let codes: std::collections::HashSet<String> = (0..200).map(|_| new_reset_code()).collect();
        assert!(codes.len() > 190, "random");
        assert!(codes.iter().all(|code| code.len() == RESET_CODE_DIGITS && code.bytes().all(|byte| byte.is_ascii_digit())));
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (token, hash) = new_token();
        assert_eq!(token.len(), TOKEN_BYTES * 2);
        assert_eq!(hash, token_hash(&token));
        assert_ne!(token, hash);
        assert_ne!(new_token().0, token);
        assert!(same_secret(&token, &token.clone()));
        assert!(!same_secret(&token, &hash));
        assert!(!same_secret("abc", "abcd"));
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
