-- Wire fidelity (issue 14): who created and last changed a workspace or an online endpoint, for
-- ARM's systemData. JSON {"created_by": {"name", "kind"}?, "modified": "...", "modified_by": {...}?};
-- rows of the world file keep '{}' (rendered as created by the emulator's fixtures).
ALTER TABLE workspaces ADD COLUMN provenance TEXT NOT NULL DEFAULT '{}';
ALTER TABLE online_endpoints ADD COLUMN provenance TEXT NOT NULL DEFAULT '{}';
