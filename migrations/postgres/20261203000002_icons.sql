-- Feed icons (issue 16): each feed's favicon, looked for once after its first successful poll. A row with no
-- image records that none was found, so that the feed is not searched again. etag is a hash of the image,
-- served for conditional GETs.

CREATE TABLE feed_icons (
    feed_id      bigint PRIMARY KEY REFERENCES feeds (id) ON DELETE CASCADE,
    content_type text,
    image        bytea,
    etag         text,
    source_url   text,
    looked_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((image IS NULL) = (content_type IS NULL) AND (image IS NULL) = (etag IS NULL))
);
