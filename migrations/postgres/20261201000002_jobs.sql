-- Long operations run as jobs (issue 14): an OPML import or export, or a refresh of all of a user's feeds.
-- A job's input is stored with it and `done` is its cursor into that input: each step commits its progress and
-- its per-item results (job_items) in one transaction, so a resumed job neither redoes nor loses a step.
-- Statuses: pending, running, failed (an attempt failed; retried at next_attempt_at), done, dead (out of
-- attempts), cancelled.

CREATE TABLE jobs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending',
    input           text NOT NULL,
    done            bigint NOT NULL DEFAULT 0,
    total           bigint NOT NULL DEFAULT 0,
    result          text,
    output          text,
    error           text,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz
);

CREATE INDEX jobs_by_user ON jobs (user_id, id DESC);
CREATE INDEX jobs_claimable ON jobs (next_attempt_at, id) WHERE status IN ('pending', 'failed');

CREATE TABLE job_items (
    job_id   bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    position bigint NOT NULL,
    data     text NOT NULL,
    PRIMARY KEY (job_id, position)
);

-- The folder an OPML import found a feed in, until categories exist.
ALTER TABLE subscriptions ADD COLUMN folder text;
