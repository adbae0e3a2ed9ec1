-- Organising subscriptions (issue #16). A category is a user's folder: a subscription is in at most one
-- (`subscriptions.category_id`, NULL for none; deleting the category leaves its feeds in none). Tags are names a
-- user puts on a subscription, any number of them; a tag exists while a subscription carries it. A subscription's
-- `title` overrides the feed's title for that user only.

CREATE TABLE categories (
    id         bigserial PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);

ALTER TABLE subscriptions
    ADD COLUMN category_id bigint REFERENCES categories (id) ON DELETE SET NULL,
    ADD COLUMN title text;

-- A category's feeds, for its counts and the timeline's category filter.
CREATE INDEX subscriptions_by_category ON subscriptions (category_id) WHERE category_id IS NOT NULL;

CREATE TABLE subscription_tags (
    user_id uuid NOT NULL,
    feed_id bigint NOT NULL,
    name    text NOT NULL,
    PRIMARY KEY (user_id, feed_id, name),
    FOREIGN KEY (user_id, feed_id) REFERENCES subscriptions (user_id, feed_id) ON DELETE CASCADE
);

-- A user's tags with their counts, and the timeline's tag filter.
CREATE INDEX subscription_tags_by_name ON subscription_tags (user_id, name, feed_id);

-- The folders OPML imports stored until now become categories.
INSERT INTO categories (user_id, name)
SELECT DISTINCT user_id, folder FROM subscriptions WHERE folder IS NOT NULL;
UPDATE subscriptions s SET category_id = c.id
FROM categories c WHERE c.user_id = s.user_id AND c.name = s.folder;
ALTER TABLE subscriptions DROP COLUMN folder;
