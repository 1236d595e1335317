-- Credentials without secrets (issue #12): certificates and federated identity credentials,
-- user-assigned managed identities, the hosts identities attach to, client-assertion replay
-- state, the keys of the emulator's named test issuers, and the key behind managed-identity
-- endpoint secrets.
CREATE TABLE app_certificates (
    key_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES applications(client_id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    cert_der BLOB NOT NULL,
    expires TEXT,                     -- RFC 3339: the registration's end, when before the certificate's
    position INTEGER NOT NULL
);
CREATE TABLE federated_credentials (
    owner_client_id TEXT NOT NULL,    -- an application's or a user-assigned identity's client id
    name TEXT NOT NULL COLLATE NOCASE,
    issuer TEXT,                      -- an issuer URL …
    test_issuer TEXT,                 -- … or one of the emulator's named test issuers
    subject TEXT NOT NULL,
    audiences TEXT NOT NULL,          -- JSON array
    description TEXT,
    position INTEGER NOT NULL,
    PRIMARY KEY (owner_client_id, name),
    CHECK ((issuer IS NULL) <> (test_issuer IS NULL))
);
CREATE TABLE user_assigned_identities (
    subscription_id TEXT NOT NULL,
    resource_group TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    location TEXT NOT NULL,
    tags TEXT NOT NULL,               -- JSON object
    client_id TEXT NOT NULL UNIQUE,
    principal_id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (subscription_id, resource_group, name),
    FOREIGN KEY (subscription_id, resource_group) REFERENCES resource_groups(subscription_id, name) ON DELETE CASCADE
);
CREATE TABLE identity_hosts (
    subscription_id TEXT NOT NULL,
    resource_group TEXT NOT NULL COLLATE NOCASE,
    kind TEXT NOT NULL,               -- JSON: {"kind":"compute","workspace":…} | {"kind":"web_app"}
    workspace TEXT COLLATE NOCASE,    -- computes only
    name TEXT NOT NULL COLLATE NOCASE,
    location TEXT NOT NULL,
    system_client_id TEXT,            -- the system-assigned identity, when on
    system_principal_id TEXT,
    user_assigned TEXT NOT NULL,      -- JSON array of user-assigned identity resource ids
    created TEXT NOT NULL,
    PRIMARY KEY (subscription_id, resource_group, name),
    FOREIGN KEY (subscription_id, resource_group) REFERENCES resource_groups(subscription_id, name) ON DELETE CASCADE
);
-- Certificate client assertions already presented: (client, jti, resource) until the assertion
-- expires on the emulator clock (unix seconds).
CREATE TABLE assertion_replay (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    resource TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti, resource)
) WITHOUT ROWID;
CREATE INDEX assertion_replay_expiry ON assertion_replay (expires_at);
CREATE TABLE test_issuer_keys (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    kid TEXT NOT NULL,
    pkcs8_der BLOB NOT NULL,
    cert_der BLOB NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE emulator_secrets (
    name TEXT PRIMARY KEY,            -- 'msi': keys the per-host managed-identity endpoint secrets
    value BLOB NOT NULL
);
-- A workspace's computes go with it (in the same statement, so never half-deleted).
CREATE TRIGGER workspace_computes AFTER DELETE ON workspaces BEGIN
    DELETE FROM identity_hosts
     WHERE subscription_id = OLD.subscription_id AND resource_group = OLD.resource_group
       AND workspace = OLD.name;
END;
-- A user-assigned identity's federated credentials go with it.
CREATE TRIGGER user_assigned_identity_credentials AFTER DELETE ON user_assigned_identities BEGIN
    DELETE FROM federated_credentials WHERE owner_client_id = OLD.client_id;
END;
