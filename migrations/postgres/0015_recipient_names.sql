ALTER TABLE recipients ADD COLUMN name text;
