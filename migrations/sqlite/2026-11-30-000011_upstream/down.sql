DROP TABLE app_upstreams;
