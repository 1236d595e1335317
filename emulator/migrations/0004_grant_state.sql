-- Grant state of the token authority: authorization codes, refresh tokens and device codes.
-- A row is found by the SHA-256 of the opaque value handed to the client; the value itself is
-- never stored. Times are unix seconds on the emulator clock.
CREATE TABLE grant_state (
    hash BLOB PRIMARY KEY,        -- SHA-256 of the value (code, refresh token, device code)
    kind TEXT NOT NULL,           -- authorization_code | refresh_token | device_code
    alias_hash BLOB UNIQUE,       -- SHA-256 of a second value naming the entry (a device code's user code)
    client_id TEXT NOT NULL,
    user_id TEXT,                 -- object id of the signed-in user, once known
    payload TEXT NOT NULL,        -- JSON: what the grant remembers (scopes, PKCE challenge, nonce, …)
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    consumed_at INTEGER,          -- single-use values: when redeemed
    revoked_at INTEGER
) WITHOUT ROWID;
CREATE INDEX grant_state_user ON grant_state (user_id);
CREATE INDEX grant_state_client ON grant_state (client_id);
CREATE INDEX grant_state_expiry ON grant_state (expires_at);
