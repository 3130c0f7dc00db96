-- The console's dashboard.

-- Sends refused before anything was queued, counted per app, hour (UTC, truncated) and reason
-- (limit, captcha, balance, template, ...): one upsert per refusal, no row per request. Bounded:
-- the purge drops hours older than the message retention.
CREATE TABLE refusal_counts (
    app_id  TEXT NOT NULL,
    hour    TIMESTAMP NOT NULL,
    reason  TEXT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (app_id, hour, reason)
);
CREATE INDEX refusal_counts_hour ON refusal_counts (hour);

-- When the code a message carried was verified: codes themselves are purged an hour after they
-- die, messages live for the retention, so conversion (codes sent vs verified) is read here.
ALTER TABLE messages ADD COLUMN verified_at TIMESTAMP;
