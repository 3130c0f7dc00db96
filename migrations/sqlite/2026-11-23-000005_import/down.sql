DROP TABLE imported_users;
