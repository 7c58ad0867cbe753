package app

import (
	"context"
	"testing"
	"time"

	"ward/store"
)

func TestReplicaFreshness(t *testing.T) {
	ctx := context.Background()
	a, _, _ := newClinic(t)
	admin := signIn(t, a, "root", adminPW)
	fresh := func(c *Clinic) Freshness {
		t.Helper()
		f, err := c.ReplicaFreshness(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if f := fresh(a); f.Peers != 0 || f.Stale() || f.StaleAfter != 30*time.Minute {
		t.Fatalf("a workstation alone: %+v stale %v", f, f.Stale())
	}

	b, _ := joinClinic(t, a, admin)
	if f := fresh(a); f.Peers != 1 || !f.LastHeard.IsZero() || !f.Stale() {
		t.Errorf("A before hearing from B: %+v stale %v", f, f.Stale())
	}

	// B's work reaches A: A has heard from B now.
	if err := signIn(t, b, "root", adminPW).SetSetting(ctx, SettingLockOnFocusLoss, "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ReplicaExport(ctx); err != nil {
		t.Fatal(err)
	}
	deliverAll(t, b, a)
	if _, err := a.ReplicaImport(ctx); err != nil {
		t.Fatal(err)
	}
	f := fresh(a)
	if f.Peers != 1 || f.LastHeard.IsZero() || f.Stale() || f.Age() > time.Minute {
		t.Fatalf("A just after applying B's changes: %+v stale %v", f, f.Stale())
	}
	heard := f.LastHeard

	// 31 minutes later with no news: stale; the threshold is the admin's.
	clock := &fakeClock{t: time.Now().Add(31 * time.Minute)}
	a.SetClock(clock)
	admin = signIn(t, a, "root", adminPW) // the earlier session has locked itself meanwhile
	if f := fresh(a); !f.Stale() || !f.LastHeard.Equal(heard) || f.Age() < 30*time.Minute {
		t.Errorf("31 minutes without news: %+v stale %v", f, f.Stale())
	}
	if err := admin.SetSetting(ctx, SettingStaleAfter, "60"); err != nil {
		t.Fatal(err)
	}
	if f := fresh(a); f.Stale() || f.StaleAfter != time.Hour {
		t.Errorf("31 minutes with a 60-minute threshold: %+v stale %v", f, f.Stale())
	}
	if err := admin.SetSetting(ctx, SettingStaleAfter, "2"); err == nil {
		t.Error("a threshold of 2 minutes was accepted")
	}

	// The replica node's last sight of B counts as news; a backup peer's does not.
	clock.Advance(2 * time.Hour)
	seen := clock.Now().Add(-10 * time.Minute)
	if err := a.db.Update(ctx, func(tx *store.Tx) error {
		return tx.SaveTransport([]store.TransportPeer{{DeviceID: "SELF", Self: true, Connected: true},
			{DeviceID: "NAS", Backup: true, Connected: true, LastSeen: clock.Now()},
			{DeviceID: "DEV-B", NodeID: b.Node().ID, LastSeen: seen}})
	}); err != nil {
		t.Fatal(err)
	}
	if f := fresh(a); f.Stale() || !f.LastHeard.Equal(seen.Truncate(time.Second)) {
		t.Errorf("B seen 10 minutes ago by the node: %+v stale %v", f, f.Stale())
	}
	clock.Advance(time.Hour)
	if f := fresh(a); !f.Stale() {
		t.Errorf("B seen 70 minutes ago, threshold 60: %+v", f)
	}

	// B removed from the clinic: A is alone again, never stale.
	admin = signIn(t, a, "root", adminPW)
	if _, err := admin.RemoveNode(ctx, b.Node().ID); err != nil {
		t.Fatal(err)
	}
	if f := fresh(a); f.Peers != 0 || f.Stale() {
		t.Errorf("after removing B: %+v stale %v", f, f.Stale())
	}
}
