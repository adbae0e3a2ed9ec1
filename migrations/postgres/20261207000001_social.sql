-- Profiles, friends, and the links friends share with each other.

-- What a profile shows, and to whom. An email is shown to friends at most, never to everyone.
ALTER TABLE users ADD COLUMN display_name text;
ALTER TABLE users ADD COLUMN display_name_visibility text NOT NULL DEFAULT 'everyone'
    CHECK (display_name_visibility IN ('everyone', 'friends', 'nobody'));
ALTER TABLE users ADD COLUMN email_visibility text NOT NULL DEFAULT 'nobody'
    CHECK (email_visibility IN ('friends', 'nobody'));

-- A pending request from `user_id` to `to_user_id`; accepting it deletes it and writes the friendship.
CREATE TABLE friend_requests (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    to_user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, to_user_id),
    CHECK (user_id <> to_user_id)
);

CREATE INDEX friend_requests_received ON friend_requests (to_user_id, user_id);

-- Each friendship is two rows, one per side, so that a user's friends and two users' mutual friends are read
-- from one side's rows.
CREATE TABLE friendships (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    friend_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, friend_id),
    CHECK (user_id <> friend_id)
);

CREATE INDEX friendships_by_friend ON friendships (friend_id);

-- A link `user_id` sent to some of their friends: an article's, copied when shared, or one of their own.
CREATE TABLE shares (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    article_id bigint REFERENCES articles (id) ON DELETE SET NULL,
    url        text,
    title      text,
    note       text,
    created_at timestamptz NOT NULL
);

CREATE INDEX shares_sent ON shares (user_id, id DESC);

-- One share received by `user_id`. It outlives the friendship: unfriending stops future shares only.
CREATE TABLE notifications (
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    share_id bigint NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
    seen_at  timestamptz,
    PRIMARY KEY (user_id, share_id)
);

CREATE INDEX notifications_by_share ON notifications (share_id);
