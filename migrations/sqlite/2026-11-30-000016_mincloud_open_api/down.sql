DROP TABLE open_api_tokens;
DROP TABLE open_api_codes;
