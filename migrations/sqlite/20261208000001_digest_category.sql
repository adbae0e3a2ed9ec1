-- A digest timer may be filtered to one of its owner's categories, by name, as webhooks are
-- (webhooks.category): renaming the category carries the filter along; a filter whose category was deleted
-- matches nothing.
ALTER TABLE timers ADD COLUMN digest_category TEXT;
