-- Accounts: roles stored with the user, usernames unique whatever their case, and invites for closed registration.

-- Operator rights live in the database and are granted by `syndic admin grant`, never by registering a name.
ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin'));

-- "Alice" and "alice" are one name. Usernames are ASCII (the API refuses anything else after NFKC), so lower()
-- folds them fully. If two existing usernames differ only by case this fails, and nothing changes: rename one,
-- then start again.
CREATE UNIQUE INDEX users_username_folded ON users (lower(username));

-- Only a hash of each code is kept, so a leaked database gives no usable invite.
CREATE TABLE invites (
    code_hash  text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    used_by    uuid REFERENCES users (id) ON DELETE SET NULL
);
