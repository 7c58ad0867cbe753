package store

import (
	"context"
	"fmt"
	"strings"
)

// IntegrityProblems runs SQLite's integrity check and SQLCipher's page HMAC
// check and returns what they found (empty when the file is sound).
func (db *DB) IntegrityProblems(ctx context.Context) ([]string, error) {
	var problems []string
	for _, pragma := range []string{"PRAGMA integrity_check", "PRAGMA cipher_integrity_check"} {
		rows, err := db.sql.QueryContext(ctx, pragma)
		if err != nil {
			return nil, fmt.Errorf("%s could not run: %w", pragma, err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				rows.Close()
				return nil, err
			}
			if line != "ok" {
				problems = append(problems, strings.TrimPrefix(pragma, "PRAGMA ")+": "+line)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return problems, nil
}
