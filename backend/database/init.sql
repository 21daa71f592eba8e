-- PostgreSQL bootstrap, run once by the postgres image on an empty volume
-- (docker-compose mounts this file into /docker-entrypoint-initdb.d/).
-- The schema itself is created by Alembic migrations (`alembic upgrade head`).
CREATE EXTENSION IF NOT EXISTS pgcrypto;
ALTER DATABASE chatsphere SET timezone TO 'UTC';
