DROP INDEX users_seq;
ALTER TABLE users DROP COLUMN seq;
DROP TABLE counters;
DROP TABLE app_credentials;
