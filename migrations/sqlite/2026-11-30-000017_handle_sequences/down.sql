-- PostgreSQL moves its integer ids to sequences here; SQLite keeps its `counters` rows (one writer
-- at a time, so a row lock costs nothing). The numbering stays the same on both backends.
SELECT 1;
