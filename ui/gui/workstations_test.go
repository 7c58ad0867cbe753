package gui

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store"
)

// An administrator pairs a second workstation from the Workstations tab:
// a real second node joins over 127.0.0.1 with the invite code the tab
// shows, the administrator compares its ids and approves it in the tab, the
// tab (refreshing itself) shows the new workstation connected, then it is
// removed and shows as removed. Every step is audited; the refreshes are not.
func TestWorkstationsInviteApproveRemove(t *testing.T) {
	ctx := context.Background()
	c := testClinic(t)
	setup, err := c.SignIn(ctx, "admin", app.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := setup.SetSyncConfig(ctx, freeListen(t), ""); err != nil {
		t.Fatal(err)
	}
	setup.SignOut(ctx)

	u := newTestUI(t, c)
	jobsDone := u.runJobs() // the replica job, as Run starts it
	t.Cleanup(func() {
		u.settle()
		u.close()
		<-jobsDone
	})
	sh := signInAs(t, u, "admin")
	v := openTab[*workstationsView](t, u, sh)
	text := screenText(u)
	for _, want := range []string{"This workstation", c.Node().Name, c.Node().ID, "None yet"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the Workstations tab lacks %q:\n%s", want, text)
		}
	}
	waitForText(t, u, "running, listening on", 60*time.Second) // the tab reads again by itself

	// Invite: the code shows in a dialog; the administrator copies it.
	tapNow(u, v.invite)
	inviteDlg := screenText(u)
	if !strings.Contains(inviteDlg, "Invite code") || !strings.Contains(inviteDlg, "Join an existing clinic") {
		t.Fatalf("the invite dialog shows:\n%s", inviteDlg)
	}
	tapNow(u, buttonIn(t, u.win.Canvas().Overlays().Top(), "Copy code"))
	code := u.fa.Clipboard().Content()
	if !strings.Contains(inviteDlg, code) || len(code) < 50 {
		t.Fatalf("copied %q; the dialog shows:\n%s", code, inviteDlg)
	}
	tapNow(u, buttonIn(t, u.win.Canvas().Overlays().Top(), "Done"))

	// A real second workstation joins with the code.
	bDir := filepath.Join(t.TempDir(), "b")
	t.Cleanup(func() { forgetKeyring(bDir) })
	waiting := make(chan app.JoinIdentity, 1)
	type joined struct {
		c   *app.Clinic
		err error
	}
	res := make(chan joined, 1)
	go func() {
		b, _, _, err := app.JoinClinic(ctx, app.JoinClinicOptions{Dir: bDir, Code: code, NodeName: "reception-2",
			Listen: freeListen(t), Keyring: store.OSKeyring{}, Waiting: func(id app.JoinIdentity) { waiting <- id }})
		res <- joined{b, err}
	}()
	var id app.JoinIdentity
	select {
	case id = <-waiting:
	case r := <-res:
		t.Fatalf("the join ended before approval: %v", r.err)
	case <-time.After(60 * time.Second):
		t.Fatal("the join never reached this workstation")
	}

	// The request shows in the tab; Approve names what the joiner shows.
	waitForText(t, u, "reception-2 asks to join", 30*time.Second)
	tapNow(u, buttonIn(t, v, "Approve…"))
	confirm := screenText(u)
	if !strings.Contains(confirm, id.Node) || !strings.Contains(confirm, id.Device) {
		t.Fatalf("the approval does not show the ids to compare (node %s, device %s):\n%s", id.Node, id.Device, confirm)
	}
	tapNow(u, buttonIn(t, u.win.Canvas().Overlays().Top(), "Approve workstation"))
	if !strings.Contains(v.message.Text, "reception-2 is approved") {
		t.Fatalf("after approving: %q", v.message.Text)
	}
	var r joined
	select {
	case r = <-res:
	case <-time.After(90 * time.Second):
		t.Fatal("the join did not finish after approval")
	}
	if r.err != nil {
		t.Fatalf("join: %v", r.err)
	}
	b := r.c
	bCtx, stopB := context.WithCancel(ctx)
	bDone := make(chan error, 1)
	go func() { bDone <- b.RunSync(bCtx, nil) }()
	t.Cleanup(func() {
		stopB()
		<-bDone
		b.Close()
	})

	// The tab shows the new workstation, connected.
	text = waitForText(t, u, "connected now", 90*time.Second)
	if !strings.Contains(text, "reception-2") || !strings.Contains(text, id.Node) || strings.Contains(text, "asks to join") {
		t.Fatalf("after the join the tab shows:\n%s", text)
	}

	// Remove: the confirmation says what it means; then it shows as removed.
	tapNow(u, buttonIn(t, v, "Remove workstation…"))
	confirm = screenText(u)
	if !strings.Contains(confirm, "is refused") || !strings.Contains(confirm, id.Node) {
		t.Fatalf("the removal does not say what it means:\n%s", confirm)
	}
	tapNow(u, buttonIn(t, u.win.Canvas().Overlays().Top(), "Remove workstation"))
	if !strings.Contains(v.message.Text, "reception-2 was removed") {
		t.Fatalf("after removing: %q", v.message.Text)
	}
	text = waitForText(t, u, "reception-2 — removed", 10*time.Second)
	if strings.Contains(text, "Remove workstation…") {
		t.Fatalf("a removed workstation can be removed again:\n%s", text)
	}

	got := auditActions(t, c)
	for _, want := range []string{" sync.invite success ", " sync.join success ", " sync.approve success ", " sync.remove success ",
		"workstation " + id.Node + " (\"reception-2\""} {
		if !strings.Contains(got, want) {
			t.Errorf("not audited: %q", want)
		}
	}
	// One read as the tab came on screen; its refreshes every few seconds add none.
	if n := strings.Count(got, " sync.status success "); n != 1 {
		t.Errorf("%d sync.status entries, want 1 (the tab was shown once)", n)
	}
}

// The front desk has no Workstations tab; a security officer sees it and
// the status, with nothing to press that changes the clinic.
func TestWorkstationsWhoSeesIt(t *testing.T) {
	c := testClinic(t)
	u := newTestUI(t, c)
	sh := signInAs(t, u, "frontdesk")
	for _, it := range sh.tabs.Items {
		if _, ok := it.Content.(*workstationsView); ok || it.Text == "Workstations" {
			t.Fatal("the front desk has a Workstations tab")
		}
	}
	tap(u, sh.signOut)
	sh = signInAs(t, u, "security")
	v := openTab[*workstationsView](t, u, sh)
	text := screenText(u)
	if !strings.Contains(text, c.Node().ID) || !strings.Contains(text, "not running") {
		t.Fatalf("the officer's Workstations tab shows:\n%s", text)
	}
	for _, b := range widgetsIn[*widget.Button](v) {
		if b.Visible() {
			t.Errorf("the officer has a %q button", b.Text)
		}
	}
}

// The tab's own refreshes do not keep a session from locking when idle,
// and do not reach the audit log; opening the tab does both.
func TestWorkstationsRefreshIsNotActivity(t *testing.T) {
	ctx := context.Background()
	c := testClinic(t)
	clock := &fakeClock{t: time.Now()}
	c.SetClock(clock)
	s, err := c.SignIn(ctx, "security", app.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer s.SignOut(ctx)
	clock.add(5 * time.Minute)
	before := s.IdleRemaining()
	if _, err := s.SyncOverview(ctx, true); err != nil {
		t.Fatal(err)
	}
	if s.IdleRemaining() != before {
		t.Fatalf("a refresh counted as activity: %v left, %v before", s.IdleRemaining(), before)
	}
	if _, err := s.SyncOverview(ctx, false); err != nil {
		t.Fatal(err)
	}
	if s.IdleRemaining() != s.IdleTimeout() {
		t.Fatalf("opening the tab is activity: %v left of %v", s.IdleRemaining(), s.IdleTimeout())
	}
	clock.add(s.IdleTimeout())
	if _, err := s.SyncOverview(ctx, true); err != app.ErrLocked {
		t.Fatalf("a refresh after the idle timeout: %v, want the session locked", err)
	}
	if n := strings.Count(auditActions(t, c), " sync.status success "); n != 1 {
		t.Fatalf("%d sync.status entries, want 1", n)
	}
}

// screenText is visibleText taken while no work result is being shown.
func screenText(u *UI) string {
	u.settle()
	u.doneMu.Lock()
	defer u.doneMu.Unlock()
	return visibleText(u)
}

// waitForText waits until the window shows want (the tab refreshes itself).
func waitForText(t *testing.T, u *UI, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		text := screenText(u)
		if strings.Contains(text, want) {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q did not show within %v; the window shows:\n%s", want, timeout, text)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tapNow taps b while no refresh is drawing, and waits for its work.
func tapNow(u *UI, b fyne.Tappable) {
	u.doneMu.Lock()
	test.Tap(b)
	u.doneMu.Unlock()
	u.settle()
}

// freeListen is a listen address on 127.0.0.1 whose port P (the replica
// node) and P+1 (its pairing listener) are both free.
func freeListen(t *testing.T) string {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+1))
		l.Close()
		if err == nil {
			l2.Close()
			return fmt.Sprintf("tcp://127.0.0.1:%d", port)
		}
	}
	t.Fatal("no two free ports in a row")
	return ""
}

// forgetKeyring removes a workstation's keys from the keyring.
func forgetKeyring(dir string) {
	acct, _ := store.KeyringAccount(dir)
	store.OSKeyring{}.Delete(acct)
	store.OSKeyring{}.Delete(store.PendingAccount(acct))
}

// A new workstation joins from the window that has no clinic yet: the
// person types the invite code, the window shows the ids to compare while
// an administrator at the inviting workstation approves, then the recovery
// code once, then the sign-in screen of the joined clinic, where the
// clinic's people sign in.
func TestJoinFromTheWindow(t *testing.T) {
	ctx := context.Background()
	a := testClinic(t)
	admin, err := a.SignIn(ctx, "admin", app.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.SignOut(ctx)
	if _, err := admin.SetSyncConfig(ctx, freeListen(t), ""); err != nil {
		t.Fatal(err)
	}
	aCtx, stopA := context.WithCancel(ctx)
	aDone := make(chan error, 1)
	go func() { aDone <- a.RunSync(aCtx, nil) }()
	t.Cleanup(func() { stopA(); <-aDone })
	inv, err := admin.Invite(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}

	bDir := filepath.Join(t.TempDir(), "b")
	var u *UI
	t.Cleanup(func() { // after the window closed, as Run does
		u.joining.Wait()
		if u.clinic != nil {
			<-u.jobsDone
			u.clinic.Close()
		}
		forgetKeyring(bDir)
	})
	u = newTestUI(t, nil)
	u.showNoClinic(bDir, store.OSKeyring{})
	if text := screenText(u); !strings.Contains(text, "no clinic on this workstation yet") || !strings.Contains(text, "ward init") {
		t.Fatalf("the window on an empty folder shows:\n%s", text)
	}
	tapNow(u, buttonIn(t, u.win.Canvas().Content(), "Join an existing clinic"))
	f := u.join
	tapNow(u, f.submit)
	if !f.message.Visible() || !strings.Contains(f.message.Text, "invite code") {
		t.Fatalf("joining with no code: %q", f.message.Text)
	}
	test.Type(f.code, inv.Code)
	f.name.SetText("")
	test.Type(f.name, "front-2")
	test.Type(f.listen, freeListen(t))
	tapNow(u, f.submit)

	// The ids show while the administrator decides; they are the request's.
	text := waitForText(t, u, "Waiting for an administrator", 60*time.Second)
	var req store.JoinRow
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		reqs, err := admin.JoinRequests(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(reqs) == 1 {
			req = reqs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no join request reached the inviting workstation")
		}
	}
	if !strings.Contains(text, req.NodeID) || !strings.Contains(text, req.DeviceID) || req.Name != "front-2" {
		t.Fatalf("the joiner shows:\n%s\nthe administrator sees %s %q %s", text, req.NodeID, req.Name, req.DeviceID)
	}
	if _, err := admin.ApproveJoin(ctx, req.ID); err != nil {
		t.Fatal(err)
	}

	// The recovery code, once; continuing needs the person to say it is written down.
	text = waitForText(t, u, "now part of "+a.Name(), 90*time.Second)
	if !strings.Contains(text, "shown only once") {
		t.Fatalf("after joining the window shows:\n%s", text)
	}
	next := buttonIn(t, u.win.Canvas().Content(), "Continue to sign in")
	if !next.Disabled() {
		t.Fatal("Continue is enabled before the recovery code is written down")
	}
	tapNow(u, widgetsIn[*widget.Check](u.win.Canvas().Content())[0])
	tapNow(u, next)
	if u.signin == nil || u.clinic == nil || u.clinic.Node().ID != req.NodeID {
		t.Fatal("the sign-in screen of the joined clinic does not show")
	}
	sh := signInAs(t, u, "frontdesk") // the clinic's people came with the snapshot
	if sh.s.Clinic() != u.clinic {
		t.Fatal("signed in somewhere else")
	}
	if !strings.Contains(auditActions(t, u.clinic), " replica.join ") {
		t.Error("the join is not in the new workstation's audit chain")
	}
}
