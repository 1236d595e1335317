-- Users' sign-in conditions, groups with (nested) members, and how applications sign users in.
ALTER TABLE users ADD COLUMN locked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_expired INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN mfa_required INTEGER NOT NULL DEFAULT 0;
ALTER TABLE applications ADD COLUMN public_client INTEGER NOT NULL DEFAULT 0;
ALTER TABLE applications ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '[]';      -- JSON array
ALTER TABLE applications ADD COLUMN spa_redirect_uris TEXT NOT NULL DEFAULT '[]';  -- JSON array
CREATE TABLE groups (
    object_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    mail_nickname TEXT NOT NULL,
    description TEXT,
    position INTEGER NOT NULL
);
-- A member is a user, a service principal or another group (by object id).
CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups(object_id) ON DELETE CASCADE,
    member_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (group_id, member_id)
) WITHOUT ROWID;
CREATE INDEX group_members_member ON group_members (member_id);
