package gui

import (
	"strings"
	"testing"
	"time"

	"ward/app"
)

// A failed background job shows in the footer for an administrator, not for
// the front desk, and goes away when the job reports it has recovered.
func TestJobProblemFooter(t *testing.T) {
	u := newTestUI(t, testClinic(t))
	sh := signInAs(t, u, "admin")
	u.jobEvent(app.Event{At: time.Now(), Job: app.JobBackups, Text: "the backup folder cannot be written", Failed: true})
	if !sh.background.Visible() || !strings.Contains(sh.background.Text, "backups: The backup folder cannot be written") {
		t.Fatalf("footer = %q (visible %v)", sh.background.Text, sh.background.Visible())
	}
	u.jobEvent(app.Event{At: time.Now(), Job: app.JobBackups, Text: "backup written"})
	if sh.background.Visible() {
		t.Fatal("the footer stayed after the job recovered")
	}
	u.jobEvent(app.Event{At: time.Now(), Job: app.JobBackups, Text: "the backup folder cannot be written", Failed: true})
	tap(u, sh.switchU)
	fd := signInAs(t, u, "frontdesk")
	if fd.background.Visible() {
		t.Fatal("the front desk sees background job problems")
	}
}
