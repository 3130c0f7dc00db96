UPDATE counters SET value = (SELECT last_value FROM counter_user) WHERE name = 'user';
UPDATE counters SET value = (SELECT last_value FROM counter_message) WHERE name = 'message';
UPDATE counters SET value = (SELECT last_value FROM counter_review_item) WHERE name = 'review_item';
DROP SEQUENCE counter_user;
DROP SEQUENCE counter_message;
DROP SEQUENCE counter_review_item;
