package store

import "time"

// Emergency access grants and their reviews (migration 009). The rules —
// which reasons, how long, who may — are package emergency's and app's;
// this file only keeps the rows. Times are passed in, not read from the
// wall clock here, so that app's clock (and a test's fake one) decides.

// Grant is one break-glass grant: one person, one patient, until Expires or
// until it was ended early (Ended not zero).
type Grant struct {
	ID         string
	UserID     string
	PatientID  string
	Reason     string // a reason code (package emergency)
	ReasonText string // the holder's own words; required for "other"
	Node       string // the workstation it was granted on
	Started    time.Time
	Expires    time.Time
	Ended      time.Time // zero: not ended before it expired
	EndedBy    string    // who ended it, or GrantExpired
	Deleted    bool
	Review     *GrantReview // nil: not reviewed yet
}

// GrantExpired in EndedBy: the workstation closed a grant whose time ran out.
const GrantExpired = "expired"

// ActiveAt tells whether the grant opens the chart at t.
func (g Grant) ActiveAt(t time.Time) bool {
	return !g.Deleted && !t.Before(g.Started) && t.Before(g.Expires) && g.Ended.IsZero()
}

// GrantReview is a security officer's disposition of a grant.
type GrantReview struct {
	ReviewerID  string
	Disposition string
	Note        string
	At          time.Time
}

// GrantFilter narrows Grants; the zero filter lists every grant.
type GrantFilter struct {
	Unreviewed bool // only grants no security officer has reviewed yet
}

const grantColumns = `g.id, g.user_id, g.patient_id, g.reason, g.reason_text, g.node, g.started_at, g.expires_at,
	g.ended_at, g.ended_by, g.deleted, r.reviewer, r.disposition, r.note, r.reviewed_at`

func scanGrant(row scanner) (Grant, error) {
	var g Grant
	var started, expires, ended int64
	var reviewer, disposition, note *string
	var reviewed *int64
	err := row.Scan(&g.ID, &g.UserID, &g.PatientID, &g.Reason, &g.ReasonText, &g.Node, &started, &expires,
		&ended, &g.EndedBy, &g.Deleted, &reviewer, &disposition, &note, &reviewed)
	g.Started, g.Expires, g.Ended = time.Unix(started, 0), time.Unix(expires, 0), unixOrZero(ended)
	if reviewer != nil {
		g.Review = &GrantReview{ReviewerID: *reviewer, Disposition: *disposition, Note: *note, At: time.Unix(*reviewed, 0)}
	}
	return g, err
}

const grantFrom = ` FROM emergency_grants g LEFT JOIN emergency_reviews r ON r.id = g.id AND r.deleted = 0 `

// grantRow reads one grant for the change log (logged) and callers.
func (tx *Tx) grantRow(id string) (Grant, bool, error) {
	g, err := queryOne(tx, scanGrant, "SELECT "+grantColumns+grantFrom+"WHERE g.id = ?", id)
	return g, g.Deleted, missing(err, "emergency grant", id)
}

// Grant returns one grant with its review.
func (tx *Tx) Grant(id string) (Grant, error) {
	g, deleted, err := tx.grantRow(id)
	if err == nil && deleted {
		err = &NotFoundError{Record: "emergency grant", ID: id}
	}
	return g, err
}

// AddGrant records a new grant; its ID, Node and times are set here from
// started and the length given.
func (tx *Tx) AddGrant(g Grant, started time.Time, length time.Duration) (Grant, error) {
	if err := tx.patientExists(g.PatientID); err != nil {
		return Grant{}, missing(err, "patient", g.PatientID)
	}
	g.ID, g.Node = NewID(), tx.db.self.ID
	g.Started = started.Truncate(time.Second)
	g.Expires = g.Started.Add(length)
	origin, hlc := tx.stamp()
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO emergency_grants(id, user_id, patient_id, reason, reason_text, node,
		started_at, expires_at, origin, hlc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.UserID, g.PatientID, g.Reason, g.ReasonText, g.Node, g.Started.Unix(), g.Expires.Unix(), origin, int64(hlc))
	if err != nil {
		return Grant{}, err
	}
	return logged(tx, "emergency_grants", g.ID, hlc, tx.grantRow)
}

// EndGrant closes a running grant at t, by a person's id or GrantExpired.
// A grant already ended keeps its first end.
func (tx *Tx) EndGrant(id string, t time.Time, by string) (Grant, error) {
	origin, hlc := tx.stamp()
	if err := tx.execOne(`UPDATE emergency_grants SET ended_at = ?, ended_by = ?, origin = ?, hlc = ?
		WHERE id = ? AND ended_at = 0 AND deleted = 0`, t.Unix(), by, origin, int64(hlc), id); err != nil {
		return Grant{}, missing(err, "running emergency grant", id)
	}
	return logged(tx, "emergency_grants", id, hlc, tx.grantRow)
}

// ReviewGrant records (or replaces) the review of a grant.
func (tx *Tx) ReviewGrant(id string, r GrantReview) (Grant, error) {
	if _, err := tx.Grant(id); err != nil {
		return Grant{}, err
	}
	origin, hlc := tx.stamp()
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO emergency_reviews(id, reviewer, disposition, note, reviewed_at, origin, hlc)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET reviewer = excluded.reviewer, disposition = excluded.disposition,
			note = excluded.note, reviewed_at = excluded.reviewed_at, origin = excluded.origin, hlc = excluded.hlc, deleted = 0`,
		id, r.ReviewerID, r.Disposition, r.Note, r.At.Unix(), origin, int64(hlc))
	if err != nil {
		return Grant{}, err
	}
	if _, err := logged(tx, "emergency_reviews", id, hlc, tx.reviewRow); err != nil {
		return Grant{}, err
	}
	return tx.Grant(id)
}

// reviewRow is the review as the change log carries it.
func (tx *Tx) reviewRow(id string) (GrantReview, bool, error) {
	var r GrantReview
	var at int64
	var deleted bool
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT reviewer, disposition, note, reviewed_at, deleted FROM emergency_reviews WHERE id = ?", id).
		Scan(&r.ReviewerID, &r.Disposition, &r.Note, &at, &deleted)
	r.At = time.Unix(at, 0)
	return r, deleted, missing(notFound(err), "emergency review", id)
}

// ActiveGrant returns the person's grant that opens the patient's chart at
// t, if there is one (ErrNotFound if not).
func (tx *Tx) ActiveGrant(userID, patientID string, t time.Time) (Grant, error) {
	return queryOne(tx, scanGrant, "SELECT "+grantColumns+grantFrom+`WHERE g.user_id = ? AND g.patient_id = ?
		AND g.deleted = 0 AND g.ended_at = 0 AND g.started_at <= ? AND g.expires_at > ?
		ORDER BY g.expires_at DESC LIMIT 1`, userID, patientID, t.Unix(), t.Unix())
}

// Grants lists grants, newest first.
func (tx *Tx) Grants(f GrantFilter) ([]Grant, error) {
	where := "g.deleted = 0"
	if f.Unreviewed {
		where += " AND r.id IS NULL"
	}
	return queryList(tx, scanGrant, "SELECT "+grantColumns+grantFrom+"WHERE "+where+" ORDER BY g.started_at DESC, g.id DESC")
}

// LapsedGrants are grants made on this workstation whose time ran out at or
// before t without an end recorded: the workstation closes them (and
// audits that) on its own.
func (tx *Tx) LapsedGrants(t time.Time) ([]Grant, error) {
	return queryList(tx, scanGrant, "SELECT "+grantColumns+grantFrom+`WHERE g.node = ? AND g.deleted = 0
		AND g.ended_at = 0 AND g.expires_at <= ? ORDER BY g.expires_at`, tx.db.self.ID, t.Unix())
}
