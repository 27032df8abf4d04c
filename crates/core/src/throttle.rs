//! Login throttling and rate limits (issue 3) as pure state machines: the current time is an argument
//! (`now_unix_s`, whole seconds since the Unix epoch), nothing here reads the clock.
//!
//! - [`LoginThrottle`]: one account's failed logins. `max_failures` failures within `window_s` lock the
//!   account for `lockout_s`; every further lockout before a successful login doubles, up to
//!   `max_lockout_s`. The store persists it as JSON so that every server process sees the same state.
//!   An attacker can lock a victim out by failing on purpose; the per-IP [`RateLimiter`] in front of
//!   login is what limits that.
//! - [`RateLimiter`]: at most N requests per key (an IP, an account) in any `window_s` seconds, in the
//!   memory of one process, with a bound on the number of keys it tracks.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::Hash;

/// The login throttling rules. [`ThrottlePolicy::default`]: 5 failures in 15 minutes lock the account
/// for 15 minutes, then 30, 60, … minutes, at most 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ThrottlePolicy {
    /// Failures within `window_s` that start a lockout (0 behaves as 1).
    pub max_failures: u32,
    pub window_s: i64,
    /// The first lockout; each consecutive lockout doubles it.
    pub lockout_s: i64,
    /// The cap on one lockout. Also the period after which lockouts stop counting as consecutive: once
    /// `max_lockout_s` have passed since the last lockout ended, the next one lasts `lockout_s` again.
    /// (Failures in between that do not lock change nothing: they would be allowed either way.)
    pub max_lockout_s: i64,
}

impl Default for ThrottlePolicy {
    fn default() -> ThrottlePolicy {
        ThrottlePolicy { max_failures: 5, window_s: 15 * 60, lockout_s: 15 * 60, max_lockout_s: 24 * 60 * 60 }
    }
}

impl ThrottlePolicy {
    /// The length of the `lockout_number`-th consecutive lockout (1-based):
    /// `lockout_s × 2^(lockout_number − 1)`, at most `max_lockout_s`, never negative.
    pub fn lockout_s_for(&self, lockout_number: u32) -> i64 {
        let doublings = lockout_number.saturating_sub(1);
        let factor = if doublings >= 62 { i64::MAX } else { 1_i64 << doublings };
        self.lockout_s.saturating_mul(factor).min(self.max_lockout_s).max(0)
    }
}

/// The account is locked: refuse the login without checking the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed logins; try again in {retry_after_s} s")]
pub struct Locked {
    pub retry_after_s: i64,
}

/// What [`LoginThrottle::record_failure`] did with a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Counted; `failures_left` more failures within the window start a lockout.
    Counted { failures_left: u32 },
    /// This failure started a lockout (audit it).
    LockedOut(Locked),
    /// The account was already locked: the failure is not counted and the lockout is not extended,
    /// so failures sent during a lockout cannot prolong it.
    AlreadyLocked(Locked),
}

/// One account's failed logins. The default value is an account with no recent failures.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LoginThrottle {
    /// Failures not yet older than the window, oldest first; never more than `max_failures`.
    failures_unix_s: Vec<i64>,
    /// When the latest lockout ends (or ended).
    locked_until_unix_s: Option<i64>,
    /// Lockouts since the last success, or since `max_lockout_s` after the last lockout ended.
    consecutive_lockouts: u32,
}

impl LoginThrottle {
    /// Call before checking a password.
    pub fn check(&self, now_unix_s: i64) -> Result<(), Locked> {
        match self.locked_until_unix_s {
            Some(until) if until > now_unix_s => Err(Locked { retry_after_s: until - now_unix_s }),
            _ => Ok(()),
        }
    }

    /// Records a wrong password (or unknown account, so the answer does not reveal which).
    pub fn record_failure(&mut self, now_unix_s: i64, policy: &ThrottlePolicy) -> FailureOutcome {
        if let Err(locked) = self.check(now_unix_s) {
            return FailureOutcome::AlreadyLocked(locked);
        }
        if self.locked_until_unix_s.is_some_and(|until| now_unix_s >= until.saturating_add(policy.max_lockout_s)) {
            self.consecutive_lockouts = 0;
        }
        let window_start = now_unix_s.saturating_sub(policy.window_s);
        self.failures_unix_s.retain(|failure| *failure > window_start);
        self.failures_unix_s.push(now_unix_s);
        let max_failures = policy.max_failures.max(1);
        let failures = u32::try_from(self.failures_unix_s.len()).unwrap_or(u32::MAX);
        if failures < max_failures {
            return FailureOutcome::Counted { failures_left: max_failures - failures };
        }
        self.failures_unix_s.clear();
        self.consecutive_lockouts = self.consecutive_lockouts.saturating_add(1);
        let lockout_s = policy.lockout_s_for(self.consecutive_lockouts);
        self.locked_until_unix_s = Some(now_unix_s.saturating_add(lockout_s));
        FailureOutcome::LockedOut(Locked { retry_after_s: lockout_s })
    }

    /// A successful login forgets every failure and lockout.
    pub fn record_success(&mut self) {
        *self = LoginThrottle::default();
    }

    pub fn locked_until_unix_s(&self) -> Option<i64> {
        self.locked_until_unix_s
    }

    pub fn consecutive_lockouts(&self) -> u32 {
        self.consecutive_lockouts
    }
}

/// The key has used its requests for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many requests; retry after {seconds} s")]
pub struct RetryAfter {
    pub seconds: i64,
}

/// At most `limit_per_window` allowed requests per key in any `window_s` consecutive seconds (a sliding
/// window, not fixed windows, which would allow twice the limit across a window boundary). Denied
/// requests do not count.
///
/// Each key keeps its allowed requests of the last window grouped by second, so memory is at most
/// `max_keys × min(limit_per_window, window_s)` small entries. Keys whose requests have all left the
/// window are dropped. When a new key arrives and `max_keys` are tracked, the key whose latest allowed
/// request is oldest is forgotten (it starts afresh if it comes back): under a flood of distinct keys
/// the limiter stays bounded and fails open for the least recent key, rather than refusing new keys.
#[derive(Debug, Clone)]
pub struct RateLimiter<K> {
    limit_per_window: u32,
    window_s: i64,
    max_keys: usize,
    keys: HashMap<K, KeyHits>,
    /// Every key by (its latest allowed second, a sequence number): the expiry and eviction order.
    by_latest_hit: BTreeMap<(i64, u64), K>,
    next_sequence: u64,
}

#[derive(Debug, Clone)]
struct KeyHits {
    /// (second, allowed requests in that second), oldest first.
    seconds: VecDeque<(i64, u32)>,
    total: u32,
    order: (i64, u64),
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// Panics unless `limit_per_window`, `window_s` and `max_keys` are all at least 1 (settings are
    /// checked at the edge).
    pub fn new(limit_per_window: u32, window_s: i64, max_keys: usize) -> RateLimiter<K> {
        assert!(limit_per_window >= 1, "limit_per_window must be at least 1");
        assert!(window_s >= 1, "window_s must be at least 1");
        assert!(max_keys >= 1, "max_keys must be at least 1");
        RateLimiter { limit_per_window, window_s, max_keys, keys: HashMap::new(), by_latest_hit: BTreeMap::new(), next_sequence: 0 }
    }

    /// Allows and counts a request, or says when the key may try again. A clock that steps back is
    /// treated as standing still for keys already seen.
    pub fn allow(&mut self, key: &K, now_unix_s: i64) -> Result<(), RetryAfter> {
        let window_start = now_unix_s.saturating_sub(self.window_s);
        self.drop_expired_keys(window_start);
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let Some(hits) = self.keys.get_mut(key) else {
            if self.keys.len() >= self.max_keys
                && let Some((_, evicted)) = self.by_latest_hit.pop_first()
            {
                self.keys.remove(&evicted);
            }
            let order = (now_unix_s, sequence);
            self.keys.insert(key.clone(), KeyHits { seconds: VecDeque::from([(now_unix_s, 1)]), total: 1, order });
            self.by_latest_hit.insert(order, key.clone());
            return Ok(());
        };
        while let Some(&(second, count)) = hits.seconds.front() {
            if second > window_start {
                break;
            }
            hits.seconds.pop_front();
            hits.total -= count;
        }
        if hits.total >= self.limit_per_window {
            let oldest = hits.seconds.front().map_or(now_unix_s, |(second, _)| *second);
            return Err(RetryAfter { seconds: oldest.saturating_add(self.window_s) - now_unix_s });
        }
        match hits.seconds.back_mut() {
            Some((second, count)) if *second >= now_unix_s => *count += 1,
            _ => hits.seconds.push_back((now_unix_s, 1)),
        }
        hits.total += 1;
        let latest = hits.seconds.back().map_or(now_unix_s, |(second, _)| *second);
        self.by_latest_hit.remove(&hits.order);
        hits.order = (latest, sequence);
        self.by_latest_hit.insert(hits.order, key.clone());
        Ok(())
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Drops keys whose latest allowed request is at or before `window_start`: nothing of theirs counts.
    fn drop_expired_keys(&mut self, window_start: i64) {
        while let Some(entry) = self.by_latest_hit.first_entry() {
            if entry.key().0 > window_start {
                return;
            }
            let key = entry.remove();
            self.keys.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    /// Runs a script of `f<t>` (failure), `s<t>` (success) and `c<t>` (check) events.
    fn check_login(policy: ThrottlePolicy, script: &str, expect: &str) {
        let mut throttle = LoginThrottle::default();
        let mut actual = Vec::new();
        for event in script.split_whitespace() {
            let (kind, time) = event.split_at(1);
            let now: i64 = time.parse().unwrap();
            let shown = match kind {
                "f" => match throttle.record_failure(now, &policy) {
                    FailureOutcome::Counted { failures_left } => format!("{event}:left {failures_left}"),
                    FailureOutcome::LockedOut(locked) => format!("{event}:locked {}", locked.retry_after_s),
                    FailureOutcome::AlreadyLocked(locked) => format!("{event}:still locked {}", locked.retry_after_s),
                },
                "s" => {
                    throttle.record_success();
                    event.to_string()
                }
                "c" => match throttle.check(now) {
                    Ok(()) => format!("{event}:ok"),
                    Err(locked) => format!("{event}:retry {}", locked.retry_after_s),
                },
                _ => panic!("unknown event {event}"),
            };
            actual.push(shown);
        }
        assert_eq!(actual.join(" "), expect, "script {script:?}");
    }

    #[test]
    fn failures_lock_after_the_limit_within_the_window() {
        let policy = ThrottlePolicy::default();
        check_login(policy, "c0", "c0:ok");
        check_login(policy, "f0 f1 f2 f3 c4", "f0:left 4 f1:left 3 f2:left 2 f3:left 1 c4:ok");
        check_login(
            policy,
            "f0 f1 f2 f3 f4 c5 c903 c904 f904",
            "f0:left 4 f1:left 3 f2:left 2 f3:left 1 f4:locked 900 c5:retry 899 c903:retry 1 c904:ok f904:left 4",
        );
        // The failure at 0 leaves the window at 900 (a failure counts for window_s seconds).
        check_login(policy, "f0 f100 f200 f300 f900 c901", "f0:left 4 f100:left 3 f200:left 2 f300:left 1 f900:left 1 c901:ok");
        check_login(policy, "f0 f100 f200 f300 f899", "f0:left 4 f100:left 3 f200:left 2 f300:left 1 f899:locked 900");
        check_login(policy, "f0 f1000 f2000 f3000 f4000 f5000", "f0:left 4 f1000:left 4 f2000:left 4 f3000:left 4 f4000:left 4 f5000:left 4");
    }

    #[test]
    fn success_resets_and_locked_failures_do_not_count() {
        let policy = ThrottlePolicy::default();
        check_login(policy, "f0 f1 f2 f3 s4 f5 c6", "f0:left 4 f1:left 3 f2:left 2 f3:left 1 s4 f5:left 4 c6:ok");
        check_login(
            policy,
            "f0 f1 f2 f3 f4 f10 f903 c904",
            "f0:left 4 f1:left 3 f2:left 2 f3:left 1 f4:locked 900 f10:still locked 894 f903:still locked 1 c904:ok",
        );
        // A success during a lockout (the edge should not get there: it checks first) resets too.
        check_login(policy, "f0 f1 f2 f3 f4 s5 c6", "f0:left 4 f1:left 3 f2:left 2 f3:left 1 f4:locked 900 s5 c6:ok");
        let one = ThrottlePolicy { max_failures: 1, ..policy };
        check_login(one, "f0 c1", "f0:locked 900 c1:retry 899");
        let zero = ThrottlePolicy { max_failures: 0, ..policy };
        check_login(zero, "f0 c1", "f0:locked 900 c1:retry 899");
    }

    #[test]
    fn lockouts_double_up_to_the_cap_and_decay_after_a_quiet_period() {
        let small = ThrottlePolicy { max_failures: 2, window_s: 60, lockout_s: 10, max_lockout_s: 35 };
        check_login(
            small,
            "f0 f1 c2 f11 f12 f33 f34 f75 f76 f111 f112 s113 f114 f115",
            "f0:left 1 f1:locked 10 c2:retry 9 f11:left 1 f12:locked 20 f33:left 1 f34:locked 35 f75:left 1 f76:locked 35 \
             f111:left 1 f112:locked 35 s113 f114:left 1 f115:locked 10",
        );
        // The second lockout ends at 32: from 32 + 35 = 67 on, the next lockout starts again from 10.
        check_login(small, "f0 f1 f11 f12 f67 f68", "f0:left 1 f1:locked 10 f11:left 1 f12:locked 20 f67:left 1 f68:locked 10");
        check_login(small, "f0 f1 f11 f12 f66 f67", "f0:left 1 f1:locked 10 f11:left 1 f12:locked 20 f66:left 1 f67:locked 10");
        check_login(small, "f0 f1 f11 f12 f33 f66", "f0:left 1 f1:locked 10 f11:left 1 f12:locked 20 f33:left 1 f66:locked 35");
    }

    #[test]
    fn lockout_lengths() {
        let policy = ThrottlePolicy::default();
        let cases = [(0, 900), (1, 900), (2, 1800), (3, 3600), (4, 7200), (5, 14_400), (6, 28_800), (7, 57_600), (8, 86_400), (9, 86_400), (63, 86_400)];
        for (lockout_number, expect) in cases {
            assert_eq!(policy.lockout_s_for(lockout_number), expect, "lockout {lockout_number}");
        }
        assert_eq!(policy.lockout_s_for(u32::MAX), 86_400);
        let negative = ThrottlePolicy { lockout_s: -5, ..policy };
        assert_eq!(negative.lockout_s_for(1), 0);
        let huge = ThrottlePolicy { lockout_s: i64::MAX / 2, max_lockout_s: i64::MAX, ..policy };
        assert_eq!(huge.lockout_s_for(3), i64::MAX);
    }

    #[test]
    fn repeated_bursts_escalate_to_the_cap() {
        let policy = ThrottlePolicy::default();
        let mut throttle = LoginThrottle::default();
        let mut now = 0;
        let mut lockouts = Vec::new();
        for _ in 0..9 {
            for _ in 0..policy.max_failures {
                if let FailureOutcome::LockedOut(locked) = throttle.record_failure(now, &policy) {
                    lockouts.push(locked.retry_after_s);
                    now += locked.retry_after_s;
                }
            }
        }
        assert_eq!(lockouts, [900, 1800, 3600, 7200, 14_400, 28_800, 57_600, 86_400, 86_400]);
        assert_eq!(throttle.consecutive_lockouts(), 9);
        assert_eq!(throttle.locked_until_unix_s(), Some(now));
    }

    fn check_limiter(limit_per_window: u32, window_s: i64, max_keys: usize, script: &str, expect: &str) {
        let mut limiter = RateLimiter::new(limit_per_window, window_s, max_keys);
        let mut actual = Vec::new();
        for event in script.split_whitespace() {
            let (key, time) = event.split_at(1);
            let shown = match limiter.allow(&key.to_string(), time.parse().unwrap()) {
                Ok(()) => format!("{event}:ok"),
                Err(RetryAfter { seconds }) => format!("{event}:retry {seconds}"),
            };
            actual.push(shown);
        }
        assert_eq!(actual.join(" "), expect, "script {script:?}");
    }

    #[test]
    fn limiter_allows_exactly_n_in_any_window() {
        check_limiter(3, 60, 10, "a0 a0 a0 a0 a59 a60 a60 a60 a60", "a0:ok a0:ok a0:ok a0:retry 60 a59:retry 1 a60:ok a60:ok a60:ok a60:retry 60");
        // Sliding: the request at 0 frees its place at 60, the one at 30 at 90.
        check_limiter(3, 60, 10, "a0 a30 a50 a55 a60 a61 a90", "a0:ok a30:ok a50:ok a55:retry 5 a60:ok a61:retry 29 a90:ok");
        // Denied requests do not count.
        check_limiter(1, 10, 10, "a0 a1 a2 a9 a10", "a0:ok a1:retry 9 a2:retry 8 a9:retry 1 a10:ok");
        check_limiter(1, 10, 10, "a0 b0 a1 b1 c1 b5 a10", "a0:ok b0:ok a1:retry 9 b1:retry 9 c1:ok b5:retry 5 a10:ok");
        // A clock stepping back counts as standing still.
        check_limiter(2, 10, 10, "a100 a90 a95 a110", "a100:ok a90:ok a95:retry 15 a110:ok");
    }

    #[test]
    fn limiter_drops_expired_keys_then_evicts_the_least_recent() {
        // c at 10: a's request at 0 has left the window, so a is dropped and b kept.
        check_limiter(1, 10, 2, "a0 b1 c10 b10", "a0:ok b1:ok c10:ok b10:retry 1");
        // Full of live keys: the least recent is forgotten and starts afresh.
        check_limiter(1, 100, 2, "a0 b1 a2 c3 a4 b5", "a0:ok b1:ok a2:retry 98 c3:ok a4:ok b5:ok");
        let mut limiter = RateLimiter::new(1, 10, 5);
        for key in 0..5 {
            limiter.allow(&key, 0).unwrap();
        }
        assert_eq!(limiter.len(), 5);
        limiter.allow(&99, 10).unwrap();
        assert_eq!(limiter.len(), 1);
        assert!(!limiter.is_empty());
    }

    #[test]
    fn limiter_memory_stays_bounded_under_many_keys() {
        let mut limiter = RateLimiter::new(5, 60, 100);
        for key in 0..10_000_u32 {
            let _ = limiter.allow(&key, i64::from(key / 1000));
            let _ = limiter.allow(&key, i64::from(key / 1000));
            assert!(limiter.len() <= 100, "{} keys after key {key}", limiter.len());
            assert_eq!(limiter.keys.len(), limiter.by_latest_hit.len());
        }
        assert_eq!(limiter.len(), 100);
        limiter.allow(&0, 1000).unwrap();
        assert_eq!(limiter.len(), 1);
    }

    /// Times must not decrease. The allowed times must be exactly what a sliding window permits: a request is allowed iff fewer
    /// than `limit` earlier allowed requests of its key lie in `(now − window_s, now]`. This also shows
    /// that no window of `window_s` seconds holds more than `limit` allowed requests.
    fn check_exact_sliding_window(requests: &[(u8, i64)], results: &[Result<(), RetryAfter>], limit: u32, window_s: i64) -> Result<(), TestCaseError> {
        let mut allowed: HashMap<u8, Vec<i64>> = HashMap::new();
        for ((key, now), result) in requests.iter().zip(results) {
            let times = allowed.entry(*key).or_default();
            let in_window = times.iter().rev().take_while(|time| **time > now - window_s).count();
            let should_allow = in_window < limit as usize;
            prop_assert_eq!(result.is_ok(), should_allow, "key {} at {}: {} in window", key, now, in_window);
            if let Err(RetryAfter { seconds }) = result {
                prop_assert!(*seconds >= 1 && *seconds <= window_s, "retry after {}", seconds);
            }
            if result.is_ok() {
                times.push(*now);
            }
        }
        for times in allowed.values() {
            for (index, start) in times.iter().enumerate() {
                let in_window = times[index..].iter().take_while(|time| **time < start + window_s).count();
                prop_assert!(in_window <= limit as usize, "{} allowed in [{}, {})", in_window, start, start + window_s);
            }
        }
        Ok(())
    }

    /// Requests to a few keys at non-decreasing times.
    fn request_sequence(keys: u8, max_step_s: i64, len: usize) -> impl Strategy<Value = Vec<(u8, i64)>> {
        proptest::collection::vec((0..keys, 0..=max_step_s), 1..len).prop_map(|steps| {
            let mut now = 1_700_000_000;
            steps
                .into_iter()
                .map(|(key, step)| {
                    now += step;
                    (key, now)
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn limiter_is_an_exact_sliding_window(
            limit in 1..5_u32,
            window_s in 1..30_i64,
            requests in request_sequence(4, 20, 200),
        ) {
            let mut limiter = RateLimiter::new(limit, window_s, 4);
            let results: Vec<_> = requests.iter().map(|(key, now)| limiter.allow(key, *now)).collect();
            check_exact_sliding_window(&requests, &results, limit, window_s)?;
        }

        #[test]
        fn limiter_never_tracks_more_than_max_keys(
            max_keys in 1..20_usize,
            requests in request_sequence(200, 3, 500),
        ) {
            let mut limiter = RateLimiter::new(2, 10, max_keys);
            for (key, now) in requests {
                let _ = limiter.allow(&key, now);
                prop_assert!(limiter.len() <= max_keys);
                prop_assert_eq!(limiter.keys.len(), limiter.by_latest_hit.len());
            }
        }

        /// With a lockout at least as long as the window, an attacker who never succeeds gets at most
        /// `max_failures` password checks in any window, and no lockout exceeds the cap.
        #[test]
        fn login_throttle_bounds_guesses_per_window(
            max_failures in 1..6_u32,
            window_s in 1..100_i64,
            extra_lockout_s in 0..200_i64,
            extra_cap_s in 0..1000_i64,
            attempts in request_sequence(1, 60, 300),
        ) {
            let policy = ThrottlePolicy { max_failures, window_s, lockout_s: window_s + extra_lockout_s, max_lockout_s: window_s + extra_cap_s };
            let mut throttle = LoginThrottle::default();
            let mut checked = Vec::new();
            for (_, now) in attempts {
                if let Err(locked) = throttle.check(now) {
                    prop_assert!(locked.retry_after_s >= 1 && locked.retry_after_s <= policy.max_lockout_s);
                    continue;
                }
                checked.push(now);
                if let FailureOutcome::LockedOut(locked) = throttle.record_failure(now, &policy) {
                    prop_assert!(locked.retry_after_s <= policy.max_lockout_s);
                }
            }
            for start in &checked {
                let in_window = checked.iter().filter(|time| **time >= *start && **time < start + window_s).count();
                prop_assert!(in_window <= max_failures as usize, "{} checks in [{}, {})", in_window, start, start + window_s);
            }
        }
    }

    /// A long deterministic simulation: a fixed seed, 50 keys, 100,000 requests.
    #[test]
    fn limiter_simulation_with_a_fixed_seed() {
        let mut runner = TestRunner::deterministic();
        let requests = proptest::collection::vec((0..50_u8, 0..=1_i64), 100_000).new_tree(&mut runner).unwrap().current();
        let mut now = 0;
        let requests: Vec<(u8, i64)> = requests
            .into_iter()
            .map(|(key, step)| {
                now += step;
                (key, now)
            })
            .collect();
        let mut limiter = RateLimiter::new(10, 60, 50);
        let results: Vec<_> = requests.iter().map(|(key, now)| limiter.allow(key, *now)).collect();
        let allowed = results.iter().filter(|result| result.is_ok()).count();
        assert!(allowed > 10_000 && allowed < 100_000, "{allowed} allowed");
        check_exact_sliding_window(&requests, &results, 10, 60).unwrap();
        assert!(limiter.len() <= 50);
    }
}
