-- Dead letters: a feed that failed too often (or answered 410 Gone) is parked, and we remember since when
-- (microseconds since the epoch, like every time here).
ALTER TABLE feeds ADD COLUMN dead_since INTEGER;

-- Operators list feeds by status, and stale feeds by last poll.
CREATE INDEX feeds_by_status ON feeds (status, id);
CREATE INDEX feeds_by_last_poll ON feeds (last_polled_at, id);
