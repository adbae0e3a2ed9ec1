-- Timers (issue 15): a schedule, a target webhook and a payload. The timer wheel loads the active timers due
-- soon (timers_due) and, when one fires, moves next_fire_at on and writes the delivery into the webhooks'
-- outbox in one transaction. Statuses: active, paused, done (a one-shot timer that fired).
-- schedule_kind is once, every or cron; schedule_spec the period (`1d`) or the cron expression; anchor_at a
-- one-shot timer's instant, or where an `every` period counts from.
-- webhook_id is where a firing delivers: NULL only inside the transaction that creates a timer with a bare `url`
-- target, whose webhook (webhooks.timer_id) is inserted after the timer. Deleting a webhook deletes the timers
-- that deliver to it.

CREATE TABLE timers (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name           text,
    schedule_kind  text NOT NULL,
    schedule_spec  text,
    at_time        text,
    timezone       text NOT NULL DEFAULT 'UTC',
    anchor_at      timestamptz NOT NULL,
    webhook_id     bigint REFERENCES webhooks (id) ON DELETE CASCADE,
    owns_webhook   boolean NOT NULL DEFAULT false,
    payload_kind   text NOT NULL DEFAULT 'id',
    digest_feed_id bigint,
    status         text NOT NULL DEFAULT 'active',
    next_fire_at   timestamptz,
    last_fired_at  timestamptz,
    fire_count     bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX timers_by_user ON timers (user_id, id DESC);
CREATE INDEX timers_due ON timers (next_fire_at, id) WHERE status = 'active';
