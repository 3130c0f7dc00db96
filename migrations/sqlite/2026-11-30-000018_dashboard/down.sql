ALTER TABLE messages DROP COLUMN verified_at;
DROP TABLE refusal_counts;
