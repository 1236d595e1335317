-- What the world was last seeded from (first start or `POST /_emulator/reset`): a SHA-256 of the
-- fixture text, so a later start with an edited fixture file can say that the database, which
-- wins, still holds the world seeded from the old text. One row at most.
CREATE TABLE seed (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    fixtures_sha256 TEXT NOT NULL,
    seeded_at TEXT NOT NULL                 -- RFC 3339, wall-clock time
);
