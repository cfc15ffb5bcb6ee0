-- Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d), as POSTGRES_USER.
-- POSTGRES_DB (bon) already exists and holds the bon store; MLflow and the Prefect server get their own databases
-- on the same server.
CREATE DATABASE mlflow;
CREATE DATABASE prefect;
