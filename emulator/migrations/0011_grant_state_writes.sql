-- Every code, refresh token and device code issued is a row of grant_state, written before the
-- answer, and each index is one more page that write puts in the WAL (and a checkpoint copies
-- into the database): five pages per refresh-token redemption with these three. Revoking by user
-- or by client and purging expired entries are rare and scan the table instead.
DROP INDEX grant_state_user;
DROP INDEX grant_state_client;
DROP INDEX grant_state_expiry;
