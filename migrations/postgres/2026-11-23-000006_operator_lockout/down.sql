DROP TABLE operator_failures;
