-- Mirrors migrations/postgres/20261211000001_email_not_a_key.sql: an email is no longer unique.
--
-- SQLite cannot drop a column's UNIQUE constraint, so the table is rebuilt with the same columns in the same
-- order (https://sqlite.org/lang_altertable.html#otheralter). While foreign keys are enforced, dropping the old
-- table would run an implicit DELETE that cascades into every table referencing users, and PRAGMA foreign_keys
-- is ignored inside a transaction, which is where the migrator runs this file. So the file ends the migrator's
-- (still empty) transaction, rebuilds in its own with enforcement off, and leaves a fresh transaction open, with
-- enforcement back on, for the migrator to record the migration in and commit. Every row keeps its id, so no
-- reference breaks.
COMMIT;
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE users_rebuilt (
    id                      TEXT PRIMARY KEY NOT NULL,
    username                TEXT NOT NULL UNIQUE,
    email                   TEXT NOT NULL CHECK (email = lower(email)),
    password_hash           TEXT NOT NULL,
    created_at              INTEGER NOT NULL
        DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)),
    role                    TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    last_event_id           INTEGER NOT NULL DEFAULT 0,
    display_name            TEXT,
    display_name_visibility TEXT NOT NULL DEFAULT 'everyone'
        CHECK (display_name_visibility IN ('everyone', 'friends', 'nobody')),
    email_visibility        TEXT NOT NULL DEFAULT 'nobody' CHECK (email_visibility IN ('friends', 'nobody'))
);

INSERT INTO users_rebuilt (id, username, email, password_hash, created_at, role, last_event_id, display_name,
                           display_name_visibility, email_visibility)
SELECT id, username, email, password_hash, created_at, role, last_event_id, display_name, display_name_visibility,
       email_visibility
FROM users;

DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
CREATE UNIQUE INDEX users_username_folded ON users (lower(username));

COMMIT;
PRAGMA foreign_keys = ON;
BEGIN;
