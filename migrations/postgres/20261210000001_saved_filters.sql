-- Saved filters (issue #16): a user's named timeline query (`q`, `category`, `tag`, `author`, at least one),
-- which the timeline, the event stream, a webhook and a digest timer can name. Webhooks and timers hold the
-- filter's id without a foreign key: deleting the filter leaves an id that names nothing, which matches
-- nothing (a SET NULL would make it match everything). Ids are never reused.
CREATE TABLE saved_filters (
    id         bigserial PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text NOT NULL,
    q          text,
    category   text,
    tag        text,
    author     text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);

ALTER TABLE webhooks ADD COLUMN saved_filter_id bigint;
ALTER TABLE timers ADD COLUMN digest_filter_id bigint;
