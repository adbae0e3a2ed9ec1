-- Core schema: users, feeds, articles, subscriptions and each user's article state.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    email         text NOT NULL UNIQUE CHECK (email = lower(email)),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE feeds (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url            text NOT NULL UNIQUE,
    title          text,
    site_url       text,
    etag           text,
    last_modified  text,
    status         text NOT NULL DEFAULT 'pending',
    last_polled_at timestamptz,
    next_poll_at   timestamptz,
    error_count    integer NOT NULL DEFAULT 0,
    last_error     text,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE articles (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    feed_id      bigint NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    dedupe_key   text NOT NULL,
    guid         text,
    url          text,
    title        text,
    summary      text,
    content      text,
    author       text,
    categories   text[] NOT NULL DEFAULT '{}',
    -- The entry's own date, else the time it was first fetched: every article has a place on the timeline.
    published_at timestamptz NOT NULL,
    fetched_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (feed_id, dedupe_key)
);

-- Serves "a feed's most recent articles" for new subscribers.
CREATE INDEX articles_feed_recent ON articles (feed_id, published_at DESC, id DESC);

CREATE TABLE subscriptions (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    feed_id    bigint NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, feed_id)
);

-- Fan-out of new articles to a feed's subscribers.
CREATE INDEX subscriptions_by_feed ON subscriptions (feed_id, user_id);

-- published_at is copied from the article so the timeline is paged by keyset on one index, with no join to sort.
CREATE TABLE user_articles (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    article_id   bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    feed_id      bigint NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    published_at timestamptz NOT NULL,
    read_at      timestamptz,
    starred_at   timestamptz,
    PRIMARY KEY (user_id, article_id)
);

CREATE INDEX user_articles_timeline ON user_articles (user_id, published_at DESC, article_id DESC);
CREATE INDEX user_articles_unread ON user_articles (user_id, published_at DESC, article_id DESC) WHERE read_at IS NULL;
CREATE INDEX user_articles_starred ON user_articles (user_id, published_at DESC, article_id DESC) WHERE starred_at IS NOT NULL;
CREATE INDEX user_articles_by_feed ON user_articles (user_id, feed_id, published_at DESC, article_id DESC);
