DROP TABLE instance_settings;
DROP TABLE messages;
DROP TABLE send_events;
DROP TABLE verification_codes;
DROP TABLE apps;
