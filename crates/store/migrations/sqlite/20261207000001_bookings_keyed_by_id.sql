-- SQLite: the bookings table is keyed by the booking id itself (`id INTEGER PRIMARY KEY` is the
-- rowid). Before, a booking was written to the table (by rowid), to the primary-key index
-- (province_code, id) and to `bookings_id` (id): three B-trees for one key. Booking ids are unique on
-- their own (and time-ordered: new rows go to the table's right edge), and SQLite holds one
-- deployment's data, so (province_code, id) stays unique with them. Per confirmed booking a rush now
-- writes the table and three indexes (account and key, slot, account and date) instead of six B-trees.
-- PostgreSQL keeps (province_code, id) as its primary key (the distribution key): its migration of
-- the same name changes nothing.
CREATE TABLE bookings_keyed_by_id (
    id              INTEGER PRIMARY KEY,
    province_code   TEXT NOT NULL CHECK (length(province_code) = 2),
    slot_id         INTEGER NOT NULL,
    resource_id     TEXT NOT NULL,
    venue_id        TEXT NOT NULL,
    account_id      INTEGER NOT NULL,
    slot_date       TEXT NOT NULL CHECK (length(slot_date) = 10),
    slot_start      TEXT NOT NULL CHECK (length(slot_start) = 19),
    places          INTEGER NOT NULL CHECK (places > 0),
    status          TEXT NOT NULL CHECK (status IN ('held', 'confirmed', 'checked_in', 'cancelled', 'cancelled_late', 'expired', 'no_show')),
    total_fen       INTEGER NOT NULL CHECK (total_fen >= 0),
    reduced         INTEGER NOT NULL,
    expires_at      TEXT CHECK (expires_at IS NULL OR length(expires_at) = 19),
    idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 128),
    request_hash    TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK ((status = 'held') = (expires_at IS NOT NULL))
);
INSERT INTO bookings_keyed_by_id (id, province_code, slot_id, resource_id, venue_id, account_id, slot_date, slot_start, places, status, total_fen,
                                  reduced, expires_at, idempotency_key, request_hash, created_at, updated_at)
SELECT id, province_code, slot_id, resource_id, venue_id, account_id, slot_date, slot_start, places, status, total_fen,
       reduced, expires_at, idempotency_key, request_hash, created_at, updated_at
FROM bookings;
DROP TABLE bookings;
ALTER TABLE bookings_keyed_by_id RENAME TO bookings;
CREATE UNIQUE INDEX bookings_account_idempotency ON bookings (account_id, idempotency_key, province_code);
CREATE INDEX bookings_slot ON bookings (slot_id);
CREATE INDEX bookings_account_date ON bookings (account_id, slot_date);
CREATE INDEX bookings_held ON bookings (expires_at) WHERE status = 'held';
CREATE INDEX bookings_held_slot ON bookings (slot_id) WHERE status = 'held';
