-- Image captchas (LeanCloud requestCaptcha / verifyCaptcha). Tokens and answers are stored only
-- as keyed hashes; the picture is kept until the captcha is answered or expires.
CREATE TABLE captchas (
    id                   TEXT PRIMARY KEY NOT NULL,
    app_id               TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    token_hash           TEXT NOT NULL,
    answer_hash          TEXT NOT NULL,
    image                BLOB,
    ip                   TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    expires_at           TIMESTAMP NOT NULL,
    answered_at          TIMESTAMP,
    -- The validate_token a right answer earned: good for one send, shortly.
    validate_hash        TEXT,
    validate_expires_at  TIMESTAMP,
    validate_used_at     TIMESTAMP
);
CREATE UNIQUE INDEX captchas_token ON captchas (token_hash);
CREATE UNIQUE INDEX captchas_validate ON captchas (validate_hash);
CREATE INDEX captchas_ip ON captchas (app_id, ip, created_at);
CREATE INDEX captchas_expiry ON captchas (expires_at);
