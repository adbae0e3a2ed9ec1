-- Mirrors migrations/postgres/20261208000001_api_key_last_use.sql; INTEGER microseconds, NULL until first use.
ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;
