-- Accounts, roles and security (issue 3). Never edit once landed; add a new migration instead.
-- Growing tables carry province_code first in their primary key (DESIGN §9); ids come from the
-- application. The uniqueness-claim tables are keyed by the claimed value itself: their primary key
-- is what guarantees one account per phone and per identity number, whatever the application does.

-- One row per phone number in use; deleting an account deletes its claim, so the phone can register again.
CREATE TABLE account_phones (
    phone      TEXT PRIMARY KEY CHECK (length(phone) BETWEEN 1 AND 32),
    account_id BIGINT NOT NULL
);
CREATE INDEX account_phones_account ON account_phones (account_id);

-- One row per identity number in use, by its keyed hash (the number itself is never stored).
CREATE TABLE account_identities (
    id_number_hash TEXT PRIMARY KEY CHECK (length(id_number_hash) BETWEEN 16 AND 256),
    account_id     BIGINT NOT NULL
);
CREATE INDEX account_identities_account ON account_identities (account_id);

-- province_code: the home region's province, '00' without one. A deleted account keeps its row,
-- anonymised: no phone, name, password or identity.
CREATE TABLE accounts (
    province_code  TEXT NOT NULL CHECK (length(province_code) = 2),
    id             BIGINT NOT NULL,
    phone          TEXT,
    name           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    id_number_hash TEXT,
    id_masked      TEXT,
    birth_date     TEXT CHECK (birth_date IS NULL OR length(birth_date) = 10),
    sex            TEXT CHECK (sex IS NULL OR sex IN ('male', 'female')),
    home_region    TEXT CHECK (home_region IS NULL OR length(home_region) = 12),
    throttle       TEXT NOT NULL DEFAULT '{}',
    status         TEXT NOT NULL CHECK (status IN ('active', 'deleted')),
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (province_code, id),
    CHECK ((id_number_hash IS NULL AND id_masked IS NULL AND birth_date IS NULL AND sex IS NULL)
        OR (id_number_hash IS NOT NULL AND id_masked IS NOT NULL AND birth_date IS NOT NULL AND sex IS NOT NULL)),
    CHECK ((status = 'active' AND phone IS NOT NULL AND length(name) > 0)
        OR (status = 'deleted' AND phone IS NULL AND name = '' AND password_hash = '' AND id_number_hash IS NULL))
);
CREATE INDEX accounts_id ON accounts (id);
CREATE INDEX accounts_home_region ON accounts (home_region);

-- One row per grant; revoking sets revoked_at, so the history stays. At most one active grant of the
-- same role and scope per account.
CREATE TABLE role_grants (
    province_code TEXT NOT NULL CHECK (length(province_code) = 2),
    id            BIGINT NOT NULL,
    account_id    BIGINT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('resident', 'venue_operator', 'station_staff', 'region_admin', 'platform_admin')),
    scope         TEXT NOT NULL,
    granted_by    BIGINT,
    granted_at    TIMESTAMPTZ NOT NULL,
    revoked_by    BIGINT,
    revoked_at    TIMESTAMPTZ,
    PRIMARY KEY (province_code, id)
);
CREATE UNIQUE INDEX role_grants_active ON role_grants (province_code, account_id, role, scope) WHERE revoked_at IS NULL;
CREATE INDEX role_grants_account ON role_grants (account_id);
CREATE INDEX role_grants_role ON role_grants (role) WHERE revoked_at IS NULL;

-- Cookie sessions, by the hash of the session token.
CREATE TABLE sessions (
    province_code TEXT NOT NULL CHECK (length(province_code) = 2),
    token_hash    TEXT NOT NULL CHECK (length(token_hash) BETWEEN 16 AND 256),
    account_id    BIGINT NOT NULL,
    csrf_token    TEXT NOT NULL CHECK (length(csrf_token) >= 16),
    created_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (province_code, token_hash)
);
CREATE INDEX sessions_token ON sessions (token_hash);
CREATE INDEX sessions_account ON sessions (account_id);

-- API tokens, by the hash of the token; revoked ones are kept (revoked_at) for the owner's list.
CREATE TABLE api_tokens (
    province_code TEXT NOT NULL CHECK (length(province_code) = 2),
    id            BIGINT NOT NULL,
    token_hash    TEXT NOT NULL CHECK (length(token_hash) BETWEEN 16 AND 256),
    account_id    BIGINT NOT NULL,
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    PRIMARY KEY (province_code, id),
    UNIQUE (province_code, token_hash)
);
CREATE INDEX api_tokens_token ON api_tokens (token_hash);
CREATE INDEX api_tokens_account ON api_tokens (account_id);

-- Every write by an operator or administrator. province_code: the region's province, '00' without one.
CREATE TABLE audit_log (
    province_code TEXT NOT NULL CHECK (length(province_code) = 2),
    id            BIGINT NOT NULL,
    at            TIMESTAMPTZ NOT NULL,
    actor_id      BIGINT,
    actor_label   TEXT NOT NULL,
    action        TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
    target        TEXT NOT NULL,
    region_code   TEXT CHECK (region_code IS NULL OR length(region_code) = 12),
    before_json   TEXT,
    after_json    TEXT,
    PRIMARY KEY (province_code, id)
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);
CREATE INDEX audit_log_action ON audit_log (action, at);
CREATE INDEX audit_log_region ON audit_log (region_code, at);

-- Messages to send (SMS reset codes, booking notices) through a pluggable sender. A claim leases a
-- message until claimed_until, so two senders never take the same one.
CREATE TABLE outbox (
    province_code TEXT NOT NULL CHECK (length(province_code) = 2),
    id            BIGINT NOT NULL,
    region_code   TEXT CHECK (region_code IS NULL OR length(region_code) = 12),
    channel       TEXT NOT NULL CHECK (length(channel) BETWEEN 1 AND 32),
    recipient     TEXT NOT NULL CHECK (length(recipient) > 0),
    subject       TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error    TEXT,
    claimed_until TIMESTAMPTZ,
    sent_at       TIMESTAMPTZ,
    PRIMARY KEY (province_code, id)
);
CREATE INDEX outbox_id ON outbox (id);
CREATE INDEX outbox_unsent ON outbox (created_at) WHERE sent_at IS NULL;

-- Password reset codes, by hash; single use (used_at) and expiring.
CREATE TABLE reset_codes (
    province_code TEXT NOT NULL CHECK (length(province_code) = 2),
    code_hash     TEXT NOT NULL CHECK (length(code_hash) BETWEEN 16 AND 256),
    account_id    BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    used_at       TIMESTAMPTZ,
    PRIMARY KEY (province_code, code_hash)
);
CREATE INDEX reset_codes_code ON reset_codes (code_hash);
CREATE INDEX reset_codes_account ON reset_codes (account_id);
