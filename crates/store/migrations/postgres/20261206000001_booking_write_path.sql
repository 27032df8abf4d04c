-- Every index on `bookings` is written by every booking of a rush, and an index keyed by a random
-- value (an account id) dirties a page per booking that the commit must write. Three such indexes
-- become two: one unique index answers both "has this account used this idempotency key?" (in any
-- province) and the uniqueness of the key (invariant 3), and (account_id, slot_date) serves the
-- quota counts and "my bookings". Booking ids are time-ordered from now on (high bits: milliseconds),
-- so the primary key and `bookings_id` grow at their right edge.
DROP INDEX bookings_idempotency;
DROP INDEX bookings_account_key;
CREATE UNIQUE INDEX bookings_account_idempotency ON bookings (account_id, idempotency_key, province_code);
