-- Files attached to an article (podcast episodes): a JSON array of {url, type?, length?}, NULL when none.
ALTER TABLE articles ADD COLUMN enclosures TEXT;
