package gui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"ward/app"
)

// The outage banner: when this workstation has other workstations and has
// heard from none of them for longer than the administrator's threshold,
// the shell says since when, and what that means for the records shown. A
// workstation alone in its clinic never shows it.

// outageEvery is how often the shell looks at the replica's freshness.
const outageEvery = 30 * time.Second

// newOutageBanner is the banner's label, hidden until a check finds the
// replica stale.
func newOutageBanner() *widget.Label {
	l := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.Importance = widget.DangerImportance
	l.Wrapping = fyne.TextWrapWord
	l.Hide()
	return l
}

// watchOutage checks now and every outageEvery while sh is the shell showing.
func (u *UI) watchOutage(sh *shell) {
	u.checkOutage(sh)
	go func() {
		t := time.NewTicker(outageEvery)
		defer t.Stop()
		for {
			select {
			case <-u.ctx.Done():
				return
			case <-t.C:
			}
			if u.ctx.Err() != nil || u.current() != sh {
				return
			}
			u.checkOutage(sh)
		}
	}()
}

// checkOutage reads the replica's freshness and shows or hides sh's banner.
func (u *UI) checkOutage(sh *shell) {
	var f app.Freshness
	u.work(func(ctx context.Context) error {
		var err error
		f, err = u.clinic.ReplicaFreshness(ctx)
		return err
	}, func(err error) {
		if err != nil || !f.Stale() { // a failed read is not news of an outage
			sh.outage.Hide()
			return
		}
		sh.outage.SetText(outageText(f))
		sh.outage.Show()
	})
}

// outageText says since when this workstation has had no news, and what
// that means.
func outageText(f app.Freshness) string {
	if f.LastHeard.IsZero() {
		return "This workstation has not heard from the clinic's other workstations yet: " +
			"records changed on them are not shown here."
	}
	since := f.LastHeard.Local().Format("15:04")
	if !sameDay(f.LastHeard, f.Now) {
		since = f.LastHeard.Local().Format("Mon 2 Jan 15:04")
	}
	return fmt.Sprintf("No contact with the other workstations since %s (%s ago): records changed on other "+
		"workstations since %s are not shown here.", since, roughAge(f.Age()), since)
}

func sameDay(a, b time.Time) bool {
	a, b = a.Local(), b.Local()
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

// roughAge says a duration the way a person would.
func roughAge(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	}
	return fmt.Sprintf("%d minutes", int(d/time.Minute))
}
