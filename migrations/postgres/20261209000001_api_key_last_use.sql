-- When each API key was last used, to the minute: a request records it only when the recorded one is older, so
-- a busy key costs one write a minute, not one a request. NULL until its first use.
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
