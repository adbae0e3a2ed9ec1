-- Sessions, their refresh tokens, and API keys.

-- A session is one sign-in on one device: every refresh token it hands out belongs to it (its "family"), and
-- every access token carries its id. Revoking a session deletes the row, so its refresh tokens go with it and its
-- access tokens stop at their next request.
CREATE TABLE sessions (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    -- Pushed forward at each refresh: a session unused for that long is over.
    expires_at   timestamptz NOT NULL,
    user_agent   text,
    ip           text
);

CREATE INDEX sessions_by_user ON sessions (user_id, created_at, id);

-- Only a SHA-256 of each refresh token is kept: they are 32 random bytes, so there is nothing a slow hash would
-- protect. A rotated token is kept, marked, so that presenting it again is seen as theft.
CREATE TABLE refresh_tokens (
    token_hash text PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    rotated_at timestamptz
);

CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

-- Named keys for scripts and reader apps, shown once; only their SHA-256 is kept.
CREATE TABLE api_keys (
    id         bigserial PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text NOT NULL,
    key_hash   text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);

CREATE INDEX api_keys_by_user ON api_keys (user_id, id DESC);
