-- On PostgreSQL, integer ids and handles come from sequences: nextval takes no row lock, so
-- concurrent sends on several instances no longer queue behind one `counters` row until each
-- commits. A rolled-back send leaves a gap, which no dialect minds. Each sequence continues where
-- its counter stopped; the counters rows stay (SQLite keeps using them: its writers are serialised
-- anyway).
CREATE SEQUENCE counter_user;
CREATE SEQUENCE counter_message;
CREATE SEQUENCE counter_review_item;
SELECT setval('counter_' || name, GREATEST(value, 1), value > 0) FROM counters
 WHERE name IN ('user', 'message', 'review_item');
