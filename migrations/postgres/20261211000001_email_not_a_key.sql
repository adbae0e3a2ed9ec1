-- An email is private contact data, not an account key: two accounts may give the same one, so registering
-- cannot tell whether an address already has an account. Accounts are found by username only; nothing looks a
-- user up by email, so no index replaces the unique one.
ALTER TABLE users DROP CONSTRAINT users_email_key;
