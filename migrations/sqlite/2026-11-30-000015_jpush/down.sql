DROP TABLE sms_item_extras;
DROP TABLE schedule_recipients;
DROP TABLE schedules;
