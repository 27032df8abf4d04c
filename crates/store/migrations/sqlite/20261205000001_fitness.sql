-- Fitness testing (issue 5): testing stations and scored results. Never edit once landed. Every
-- table carries province_code first in its primary key and in every unique index. Results keep the
-- measurements and the item scores as JSON (the core's score card), and the composite in columns
-- for the pass-rate indicator; a result belongs to exactly one standard (its id names the version).

CREATE TABLE stations (
    province_code TEXT NOT NULL CHECK (length(province_code) = 2),
    id            TEXT NOT NULL CHECK (length(id) BETWEEN 1 AND 64),
    name          TEXT NOT NULL CHECK (length(name) > 0),
    region_code   TEXT NOT NULL CHECK (length(region_code) = 12),
    address       TEXT NOT NULL,
    -- The venue where the station tests: its bookable sessions (resources of kind 'session') are the
    -- station's appointments, booked through the booking engine like any other slot.
    venue_id      TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (province_code, id)
);
CREATE UNIQUE INDEX stations_id ON stations (id);

CREATE TABLE fitness_results (
    province_code TEXT NOT NULL CHECK (length(province_code) = 2),
    id            BIGINT NOT NULL,
    standard_id   TEXT NOT NULL,
    -- The person: an account when known, and always a reference unique within the standard and test
    -- date (a student number, or 'account:<id>').
    account_id    BIGINT,
    person_ref    TEXT NOT NULL CHECK (length(person_ref) BETWEEN 1 AND 64),
    region_code   TEXT NOT NULL CHECK (length(region_code) = 12),
    station_id    TEXT,
    test_date     TEXT NOT NULL CHECK (length(test_date) = 10),
    test_year     INTEGER NOT NULL,
    sex           TEXT NOT NULL CHECK (sex IN ('M', 'F')),
    -- 'grade' (school grade 1-16) or 'age' (years on the test date).
    cohort_kind   TEXT NOT NULL CHECK (cohort_kind IN ('grade', 'age')),
    cohort        INTEGER NOT NULL,
    measurements  TEXT NOT NULL,
    score_card    TEXT NOT NULL,
    -- The composite total in thousandths of a point; NULL when an item is missing (the record is incomplete).
    total_milli  INTEGER,
    -- excellent, good, pass, fail; NULL when incomplete or withheld.
    grade         TEXT CHECK (grade IS NULL OR grade IN ('excellent', 'good', 'pass', 'fail')),
    passed        INTEGER,
    source        TEXT NOT NULL CHECK (source IN ('station', 'import')),
    entered_by    BIGINT,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (province_code, id)
);
CREATE UNIQUE INDEX fitness_results_person ON fitness_results (province_code, standard_id, person_ref, test_date);
CREATE INDEX fitness_results_rate ON fitness_results (standard_id, test_year, region_code);
CREATE INDEX fitness_results_account ON fitness_results (account_id, test_date);
