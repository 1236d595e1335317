-- The start-up parts of the fixture texts the emulator was started with, by SHA-256 of the text
-- (`seed.fixtures_sha256`): tenants, the first subscription and application, fault rules and
-- settings (JSON). A restart on unchanged fixtures reads them here instead of parsing the whole
-- file again. No secret is kept: the default service principal's secret is found again in the
-- text itself, by its position (the same text, by its fingerprint).
CREATE TABLE fixtures (
    fingerprint TEXT PRIMARY KEY,
    startup TEXT NOT NULL
);
