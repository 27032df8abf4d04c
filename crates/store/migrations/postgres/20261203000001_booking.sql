-- Booking (issue 4): bookable resources of a venue, their closures, the generated slots and the
-- bookings. Never edit once landed; add a new migration instead. Every table carries province_code
-- (the venue's province) first in its primary key and in every unique index; ids come from the
-- application (random 63-bit: lookups by id use plain indexes, as for venues).
-- Times of day (slot starts and ends, hold expiries, closures) are China local time as text
-- 'YYYY-MM-DDTHH:MM:SS' (UTC+8, no daylight saving): they sort as text, the same on both backends.

CREATE TABLE resources (
    province_code  TEXT NOT NULL CHECK (length(province_code) = 2),
    id             TEXT NOT NULL CHECK (length(id) BETWEEN 1 AND 64),
    venue_id       TEXT NOT NULL,
    name           TEXT NOT NULL CHECK (length(name) > 0),
    kind           TEXT NOT NULL CHECK (kind IN ('court', 'lane', 'field', 'session', 'room')),
    -- The slot rules (JSON list of {weekdays, start, end, slot_length_min, places, price_fen, reduced_price_fen}).
    slot_rules     TEXT NOT NULL,
    -- The booking rules (JSON: opens_at, days_ahead, hold_min, cancel_cutoff_min, quotas, …).
    booking_rules  TEXT NOT NULL,
    real_name      BOOLEAN NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (province_code, id)
);
CREATE INDEX resources_id ON resources (id);
CREATE INDEX resources_venue ON resources (venue_id);

CREATE TABLE closures (
    province_code TEXT NOT NULL CHECK (length(province_code) = 2),
    id            BIGINT NOT NULL,
    resource_id   TEXT NOT NULL,
    starts_at     TEXT NOT NULL CHECK (length(starts_at) = 19),
    ends_at       TEXT NOT NULL CHECK (length(ends_at) = 19 AND ends_at > starts_at),
    reason        TEXT NOT NULL CHECK (length(reason) > 0),
    urgent        BOOLEAN NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (province_code, id)
);
CREATE INDEX closures_resource ON closures (resource_id, starts_at);

-- taken = the places held by bookings (held, confirmed, checked in). The CHECK is invariant 1 of
-- DESIGN §5: whatever the application does, a slot is never over capacity.
CREATE TABLE slots (
    province_code     TEXT NOT NULL CHECK (length(province_code) = 2),
    id                BIGINT NOT NULL,
    resource_id       TEXT NOT NULL,
    venue_id          TEXT NOT NULL,
    starts_at         TEXT NOT NULL CHECK (length(starts_at) = 19),
    ends_at           TEXT NOT NULL CHECK (length(ends_at) = 19 AND ends_at > starts_at),
    capacity          INTEGER NOT NULL CHECK (capacity > 0),
    taken             INTEGER NOT NULL DEFAULT 0 CHECK (taken >= 0 AND taken <= capacity),
    price_fen         BIGINT NOT NULL CHECK (price_fen >= 0),
    reduced_price_fen BIGINT NOT NULL CHECK (reduced_price_fen >= 0 AND reduced_price_fen <= price_fen),
    PRIMARY KEY (province_code, id)
);
CREATE INDEX slots_id ON slots (id);
CREATE UNIQUE INDEX slots_resource_start ON slots (province_code, resource_id, starts_at);
CREATE INDEX slots_venue_start ON slots (venue_id, starts_at);

-- One row per booking, kept for ever (statistics), anonymised with the account. idempotency_key is
-- per account: a retry with the same key returns the booking it made (invariant 3).
CREATE TABLE bookings (
    province_code   TEXT NOT NULL CHECK (length(province_code) = 2),
    id              BIGINT NOT NULL,
    slot_id         BIGINT NOT NULL,
    resource_id     TEXT NOT NULL,
    venue_id        TEXT NOT NULL,
    account_id      BIGINT NOT NULL,
    slot_date       TEXT NOT NULL CHECK (length(slot_date) = 10),
    slot_start      TEXT NOT NULL CHECK (length(slot_start) = 19),
    places          INTEGER NOT NULL CHECK (places > 0),
    status          TEXT NOT NULL CHECK (status IN ('held', 'confirmed', 'checked_in', 'cancelled', 'cancelled_late', 'expired', 'no_show')),
    total_fen       BIGINT NOT NULL CHECK (total_fen >= 0),
    reduced         BOOLEAN NOT NULL,
    expires_at      TEXT CHECK (expires_at IS NULL OR length(expires_at) = 19),
    idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 128),
    request_hash    TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (province_code, id),
    CHECK ((status = 'held') = (expires_at IS NOT NULL))
);
CREATE INDEX bookings_id ON bookings (id);
-- Unique within a province (the distribution key); the engine also looks a key up in every province
-- before deciding, so a reused key is answered from the booking it made.
CREATE UNIQUE INDEX bookings_idempotency ON bookings (province_code, account_id, idempotency_key);
CREATE INDEX bookings_account_key ON bookings (account_id, idempotency_key);
CREATE INDEX bookings_slot ON bookings (slot_id);
CREATE INDEX bookings_account_date ON bookings (account_id, slot_date);
CREATE INDEX bookings_held ON bookings (expires_at) WHERE status = 'held';
