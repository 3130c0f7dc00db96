DROP TABLE provider_circuits;
DROP TABLE app_providers;
