package app

import (
	"context"
	"time"

	"ward/store"
)

// Outage awareness (issue 6): how fresh this workstation's copy of the
// clinic's records is. A workstation that has heard from no other for a
// while shows records as they were then: people must know that before they
// trust a chart.

// SettingStaleAfter: minutes without news from any other workstation after
// which this one warns that its records may be out of date (5–1440,
// default 30).
const SettingStaleAfter = "emergency.stale-after-minutes"

const defaultStaleMinutes = 30

// Freshness is how recent this workstation's news of the others is.
type Freshness struct {
	Now   time.Time
	Peers int // the other workstations of the clinic (removed ones do not count)
	// LastHeard is the newest contact with any of them: a connection seen
	// by the replica node, or one of their changes applied here. Zero when
	// none has been heard from yet.
	LastHeard  time.Time
	StaleAfter time.Duration
}

// Age is how long ago the newest contact was (0 when never).
func (f Freshness) Age() time.Duration {
	if f.LastHeard.IsZero() {
		return 0
	}
	return f.Now.Sub(f.LastHeard)
}

// Stale: this workstation has peers and has heard from none of them for
// longer than the threshold (or never), so changes made on them since may
// be missing here. A workstation alone in its clinic is never stale.
func (f Freshness) Stale() bool {
	return f.Peers > 0 && (f.LastHeard.IsZero() || f.Age() > f.StaleAfter)
}

// ReplicaFreshness reads when the other workstations were last heard from.
// It holds no patient data: every screen may show it without signing in.
func (c *Clinic) ReplicaFreshness(ctx context.Context) (Freshness, error) {
	f := Freshness{Now: c.now()}
	members := map[string]bool{}
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		minutes, err := boundedSetting(tx, SettingStaleAfter, defaultStaleMinutes)
		if err != nil {
			return err
		}
		f.StaleAfter = time.Duration(minutes) * time.Minute
		nodes, err := tx.ClinicNodes()
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if !n.Self && !n.Revoked() {
				members[n.ID] = true
			}
		}
		seen, err := tx.Transport()
		for _, t := range seen {
			if members[t.NodeID] && !t.Backup {
				f.heard(t.LastSeen)
			}
		}
		return err
	})
	if err != nil {
		return f, err
	}
	f.Peers = len(members)
	err = c.db.ReplicaRead(ctx, func(rd *store.ReplicaReader) error {
		ps, err := rd.Positions()
		for _, p := range ps {
			if members[p.Node] {
				f.heard(p.AppliedAt)
			}
		}
		return err
	})
	return f, err
}

// heard moves LastHeard to t when t is newer.
func (f *Freshness) heard(t time.Time) {
	if t.After(f.LastHeard) {
		f.LastHeard = t
	}
}
