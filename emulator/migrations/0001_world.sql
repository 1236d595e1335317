-- The world: tenants, principals and the resources later surfaces hang off.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    token_lifetime_seconds INTEGER,
    position INTEGER NOT NULL
);
CREATE TABLE tenant_domains (
    domain TEXT PRIMARY KEY COLLATE NOCASE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    position INTEGER NOT NULL
);
CREATE TABLE users (
    object_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    upn TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL,
    password_salt BLOB NOT NULL,
    password_hash BLOB NOT NULL,
    enabled INTEGER NOT NULL
);
CREATE TABLE applications (
    client_id TEXT PRIMARY KEY,
    object_id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    token_lifetime_seconds INTEGER,
    identifier_uris TEXT NOT NULL, -- JSON array
    access_token_version INTEGER NOT NULL,
    position INTEGER NOT NULL
);
CREATE TABLE client_secrets (
    key_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES applications(client_id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    hint TEXT NOT NULL,
    salt BLOB NOT NULL,
    hash BLOB NOT NULL,
    expires TEXT -- RFC 3339
);
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    display_name TEXT NOT NULL
);
CREATE TABLE resource_groups (
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    name TEXT NOT NULL COLLATE NOCASE,
    location TEXT NOT NULL,
    PRIMARY KEY (subscription_id, name)
);
CREATE TABLE workspaces (
    subscription_id TEXT NOT NULL,
    resource_group TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    location TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    workspace_id TEXT NOT NULL UNIQUE,
    PRIMARY KEY (subscription_id, resource_group, name),
    FOREIGN KEY (subscription_id, resource_group) REFERENCES resource_groups(subscription_id, name) ON DELETE CASCADE
);
-- Token-signing keys: generated once per data dir; rotation keeps retired keys published.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    pkcs8_der BLOB NOT NULL,
    cert_der BLOB NOT NULL,
    created TEXT NOT NULL,
    active INTEGER NOT NULL
);
