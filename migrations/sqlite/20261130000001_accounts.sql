-- Accounts: roles stored with the user, usernames unique whatever their case, and invites for closed registration.
-- Mirrors migrations/postgres/20261130000001_accounts.sql.

-- Operator rights live in the database and are granted by `syndic admin grant`, never by registering a name.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin'));

-- "Alice" and "alice" are one name. Usernames are ASCII (the API refuses anything else after NFKC), so SQLite's
-- ASCII-only lower() folds them fully. If two existing usernames differ only by case this fails, and nothing
-- changes: rename one, then start again.
CREATE UNIQUE INDEX users_username_folded ON users (lower(username));

-- Only a hash of each code is kept, so a leaked database gives no usable invite.
CREATE TABLE invites (
    code_hash  TEXT PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)),
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    used_by    TEXT REFERENCES users (id) ON DELETE SET NULL
);
