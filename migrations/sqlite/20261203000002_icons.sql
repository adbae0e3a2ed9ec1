-- Feed icons on SQLite; mirrors migrations/postgres/20261203000002_icons.sql. looked_at is INTEGER
-- microseconds since the Unix epoch, as every timestamp here.

CREATE TABLE feed_icons (
    feed_id      INTEGER PRIMARY KEY NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    content_type TEXT,
    image        BLOB,
    etag         TEXT,
    source_url   TEXT,
    looked_at    INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)),
    CHECK ((image IS NULL) = (content_type IS NULL) AND (image IS NULL) = (etag IS NULL))
);
