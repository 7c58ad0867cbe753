package audit

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Review is one page of the audit viewer: entries matching Filter (and the
// action and outcome, when set), newest first, starting after Before.
type Review struct {
	Filter
	Action  string // exact action ("chart.read"), or a prefix ending in "." ("user.")
	Outcome string
	Before  *Cursor // the last entry of the previous page; nil for the first page
	Limit   int     // at most 1000; 0 means 100
}

// Cursor is a position in the newest-first order: time, then node, then seq.
type Cursor struct {
	Time time.Time
	Node string
	Seq  uint64
}

// CursorOf is the position of e, to ask for the page after it.
func CursorOf(e Entry) *Cursor { return &Cursor{Time: e.Time, Node: e.Node, Seq: e.Seq} }

// Page reads one page of entries. Paging is by position (keyset), not by
// offset, so page 10,000 of a million entries costs what page 1 does.
func Page(ctx context.Context, db DBTX, r Review) ([]Entry, error) {
	q, args := exportFilter(r.Filter)
	if r.Action != "" {
		if strings.HasSuffix(r.Action, ".") {
			q, args = append(q, "e.action >= ? AND e.action < ?"), append(args, r.Action, r.Action[:len(r.Action)-1]+"/")
		} else {
			q, args = append(q, "e.action = ?"), append(args, r.Action)
		}
	}
	if r.Outcome != "" {
		q, args = append(q, "e.outcome = ?"), append(args, r.Outcome)
	}
	if c := r.Before; c != nil {
		// The first term gives SQLite the audit_by_time range; the second
		// breaks ties within one nanosecond.
		at := c.Time.UnixNano()
		q = append(q, "e.at <= ? AND (e.at < ? OR (e.node, e.seq) < (?, ?))")
		args = append(args, at, at, c.Node, int64(c.Seq))
	}
	limit := r.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	sql := `SELECT e.node, e.seq, e.at, e.user_id, e.action, e.patient_id, e.outcome, e.detail, e.grant_id FROM audit_entries e`
	if len(q) > 0 {
		sql += " WHERE " + strings.Join(q, " AND ")
	}
	sql += fmt.Sprintf(" ORDER BY e.at DESC, e.node DESC, e.seq DESC LIMIT %d", limit)
	rows, err := db.QueryContext(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: review: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at int64
		var seq int64
		if err := rows.Scan(&e.Node, &seq, &at, &e.User, &e.Action, &e.Patient, &e.Outcome, &e.Detail, &e.Grant); err != nil {
			return nil, fmt.Errorf("audit: review: %w", err)
		}
		e.Seq, e.Time = uint64(seq), time.Unix(0, at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
