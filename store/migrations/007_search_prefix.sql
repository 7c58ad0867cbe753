-- Patient search: prefix indexes up to 6 characters (001 had 1-4). Tagged
-- terms spend 2 characters on their tag (p_, m_, d_), so with 4 a typed
-- "555" (p_555) scanned every phone term: 58-263 ms at 100k patients, the
-- whole p99 of search-as-you-type. With 6, three digits of a phone, MRN or
-- birth year are an index lookup (0.4 ms); the index grows ~25%.
-- The triggers of 001 keep working: they name the table, not its options.
DROP TABLE patients_fts;
CREATE VIRTUAL TABLE patients_fts USING fts5(
    search_terms,
    content = 'patients', content_rowid = 'rowid',
    tokenize = "unicode61 remove_diacritics 2 tokenchars '_'",
    prefix = '1 2 3 4 5 6'
);
INSERT INTO patients_fts(patients_fts) VALUES ('rebuild');
