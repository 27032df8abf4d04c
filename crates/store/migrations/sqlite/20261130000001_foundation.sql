-- Foundation: regions, population, venues. Never edit once landed; add a new migration instead.
-- Tables that grow with activity carry province_code, first in their primary key (DESIGN §9).

CREATE TABLE regions (
    code          TEXT PRIMARY KEY CHECK (length(code) = 12),
    name          TEXT NOT NULL CHECK (length(name) > 0),
    level         TEXT NOT NULL CHECK (level IN ('province', 'city', 'county', 'street')),
    parent_code   TEXT,
    province_code TEXT NOT NULL CHECK (length(province_code) = 2)
);
CREATE INDEX regions_parent ON regions (parent_code);

CREATE TABLE population (
    province_code TEXT NOT NULL,
    region_code   TEXT NOT NULL REFERENCES regions (code),
    year          INTEGER NOT NULL CHECK (year BETWEEN 1949 AND 2100),
    population    INTEGER NOT NULL CHECK (population >= 0),
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (province_code, region_code, year)
);

CREATE TABLE venues (
    province_code  TEXT NOT NULL,
    id             TEXT NOT NULL CHECK (length(id) BETWEEN 1 AND 64),
    name           TEXT NOT NULL CHECK (length(name) > 0),
    region_code    TEXT NOT NULL REFERENCES regions (code),
    address        TEXT NOT NULL,
    lat            REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lng            REAL NOT NULL CHECK (lng BETWEEN -180 AND 180),
    venue_type     TEXT NOT NULL,
    sports         TEXT NOT NULL,
    sports_area_m2 REAL NOT NULL CHECK (sports_area_m2 >= 0),
    setting        TEXT NOT NULL,
    owner_kind     TEXT NOT NULL,
    opening_hours  TEXT NOT NULL,
    free_hours     TEXT NOT NULL,
    low_fee_hours  TEXT NOT NULL,
    accessibility  TEXT NOT NULL,
    status         TEXT NOT NULL,
    opened_year    INTEGER,
    phone          TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (province_code, id)
);
CREATE INDEX venues_id ON venues (id);
CREATE INDEX venues_region ON venues (region_code);

-- One row per kind of reference data; bumped in the same transaction as every write, so other
-- processes see that their in-memory snapshot is stale.
CREATE TABLE change_counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO change_counters (name, value) VALUES ('regions', 0), ('population', 0), ('venues', 0);
