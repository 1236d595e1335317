-- RBAC: custom role definitions (built-ins live in code) and role assignments at any scope.
CREATE TABLE role_definitions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    permissions TEXT NOT NULL,        -- JSON array of {actions, notActions, dataActions, notDataActions}
    assignable_scopes TEXT NOT NULL,  -- JSON array
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE role_assignments (
    name TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    scope_key TEXT NOT NULL,          -- lower-cased scope, for case-insensitive lookups
    role_definition_id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    principal_type TEXT NOT NULL,
    description TEXT,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    created_by TEXT
);
CREATE UNIQUE INDEX role_assignments_unique ON role_assignments (scope_key, role_definition_id, principal_id);
-- Workspaces created through ARM carry what their PUT said (tags, sku, identity, linked resources).
ALTER TABLE workspaces ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE workspaces ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
ALTER TABLE workspaces ADD COLUMN sku TEXT NOT NULL DEFAULT 'Basic';
ALTER TABLE workspaces ADD COLUMN created TEXT NOT NULL DEFAULT '2024-01-01T00:00:00Z';
ALTER TABLE workspaces ADD COLUMN linked TEXT NOT NULL DEFAULT '{}'; -- JSON: storageAccount, keyVault, applicationInsights, containerRegistry
ALTER TABLE resource_groups ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
