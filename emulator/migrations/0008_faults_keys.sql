-- Issue 11: signing-key rotation with overlap, and the cluster region of services and endpoints.
-- An authority key signs while `active` = 1; after a rotation the previous key stays published (it
-- still verifies the tokens it signed) until it is retired, when `retired` records the time.
ALTER TABLE signing_keys ADD COLUMN retired TEXT;        -- RFC 3339; NULL = published
-- A workspace's Azure ML token key signs while it is the row of `workspace_signing_keys`; a rotation
-- moves it here, where it still verifies until it is retired.
CREATE TABLE workspace_key_history (
    kid TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    pkcs8_der BLOB NOT NULL,
    cert_der BLOB NOT NULL,
    rotated TEXT NOT NULL,                               -- RFC 3339: when it stopped signing
    retired TEXT                                         -- RFC 3339; NULL = still verifies
);
-- The region of the cluster a service or endpoint runs on; NULL = the workspace's region.
ALTER TABLE services ADD COLUMN cluster_region TEXT;
ALTER TABLE online_endpoints ADD COLUMN cluster_region TEXT;
