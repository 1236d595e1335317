-- SDK v1 web services (ACI/AKS) and SDK v2 online endpoints, with the keys clients retrieve
-- (listKeys returns them, so they are kept as issued), per-workspace token-signing keys, and
-- regions marked unavailable.
CREATE TABLE services (
    name TEXT PRIMARY KEY COLLATE NOCASE,   -- unique across the emulator: AKS scoring URLs name only the service
    service_id TEXT NOT NULL UNIQUE,
    subscription_id TEXT NOT NULL,
    resource_group TEXT NOT NULL COLLATE NOCASE,
    workspace TEXT NOT NULL COLLATE NOCASE,
    compute_type TEXT NOT NULL,             -- ACI | AKS
    auth_enabled INTEGER NOT NULL,          -- key auth
    token_auth_enabled INTEGER NOT NULL,    -- AML token auth (AKS only); `aadAuthEnabled` on the wire
    primary_key TEXT NOT NULL,
    secondary_key TEXT NOT NULL,
    scoring TEXT NOT NULL,                  -- JSON: {"kind":"echo"} | {"kind":"static","body":…}
    token_lifetime_seconds INTEGER,
    description TEXT,
    created TEXT NOT NULL,
    FOREIGN KEY (subscription_id, resource_group, workspace) REFERENCES workspaces(subscription_id, resource_group, name) ON DELETE CASCADE
);
CREATE TABLE online_endpoints (
    name TEXT PRIMARY KEY COLLATE NOCASE,   -- unique across the emulator, like the real <name>.<region> host
    endpoint_id TEXT NOT NULL UNIQUE,
    subscription_id TEXT NOT NULL,
    resource_group TEXT NOT NULL COLLATE NOCASE,
    workspace TEXT NOT NULL COLLATE NOCASE,
    location TEXT NOT NULL,
    auth_mode TEXT NOT NULL,                -- Key | AMLToken | AADToken
    primary_key TEXT NOT NULL,
    secondary_key TEXT NOT NULL,
    deployments TEXT NOT NULL,              -- JSON array of names
    scoring TEXT NOT NULL,
    description TEXT,
    token_lifetime_seconds INTEGER,
    created TEXT NOT NULL,
    FOREIGN KEY (subscription_id, resource_group, workspace) REFERENCES workspaces(subscription_id, resource_group, name) ON DELETE CASCADE
);
CREATE TABLE workspace_signing_keys (
    workspace_id TEXT PRIMARY KEY,
    kid TEXT NOT NULL,
    pkcs8_der BLOB NOT NULL,
    cert_der BLOB NOT NULL
);
CREATE TABLE region_outages (
    region TEXT PRIMARY KEY COLLATE NOCASE
);
