-- What the other dialects need to know an app and a user by.
--
-- app_credentials: each dialect's own keys for an app (Bmob: application_id, rest_api_key,
-- master_key, secret_key, security_code; JPush: app_key, master_secret; MinCloud: client_id,
-- client_secret). The identifying ones find their app through the unique (dialect, name, value).
CREATE TABLE app_credentials (
    app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    dialect     TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (app_id, dialect, name)
);
CREATE UNIQUE INDEX app_credentials_by_value ON app_credentials (dialect, name, value);

-- Named counters handing out integer ids (users.seq, and the numeric handles of messages,
-- templates and signatures): one UPDATE ... RETURNING inside the caller's write transaction.
CREATE TABLE counters (
    name   TEXT PRIMARY KEY NOT NULL,
    value  BIGINT NOT NULL
);

-- Integer user ids (MinCloud's `id`/`user_id`): one number per user, for every dialect.
ALTER TABLE users ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE users SET seq = n.rn + 100000
  FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS rn FROM users) AS n
 WHERE users.id = n.id;
INSERT INTO counters (name, value) SELECT 'user', 100000 + COUNT(*) FROM users;
CREATE UNIQUE INDEX users_seq ON users (seq);
