# syntax=docker/dockerfile:1
# The MLflow tracking server: the official image plus the PostgreSQL driver it lacks (mlflow/mlflow#9513).
# Pin MLFLOW_IMAGE to the release that matches the workers' mlflow (`pip show mlflow`), e.g. ghcr.io/mlflow/mlflow:v3.1.4.
ARG MLFLOW_IMAGE=ghcr.io/mlflow/mlflow:latest
FROM ${MLFLOW_IMAGE}
RUN pip install --no-cache-dir "psycopg2-binary>=2.9"
