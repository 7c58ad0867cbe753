package gui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/emergency"
)

// The security officer's review of emergency access: every grant, from
// any workstation (grants replicate), waits here for a disposition with a
// note. The tab's title carries the count of those waiting, so it shows on
// the officer's screen whichever tab is open; overdue ones are flagged.

const reviewTitle = "Emergency access"

type reviewView struct {
	widget.BaseWidget
	u       *UI
	s       *app.Session
	summary *widget.Label
	all     *widget.Check
	rows    *fyne.Container
	message *widget.Label
	root    fyne.CanvasObject
	grants  []app.GrantView
}

func (u *UI) emergencyReviewSection(s *app.Session) fyne.CanvasObject {
	v := &reviewView{u: u, s: s}
	heading := widget.NewLabelWithStyle("Emergency access review", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	heading.SizeName = theme.SizeNameSubHeadingText
	v.summary = widget.NewLabel("")
	v.summary.Wrapping = fyne.TextWrapWord
	v.all = widget.NewCheck("Show reviewed ones too", func(bool) { v.load() })
	v.message = widget.NewLabel("")
	v.message.Wrapping = fyne.TextWrapWord
	v.message.Hide()
	v.rows = container.NewVBox()
	top := container.NewVBox(heading, container.NewBorder(nil, nil, nil, v.all, v.summary), v.message, widget.NewSeparator())
	v.root = container.NewBorder(top, nil, nil, nil, container.NewVScroll(v.rows))
	v.ExtendBaseWidget(v)
	v.load() // the count shows in the tab title from sign-in on
	return v
}

func (v *reviewView) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(v.root) }

// Show reads the queue again each time the tab comes on screen.
func (v *reviewView) Show() {
	coming := !v.Visible()
	v.BaseWidget.Show()
	if coming {
		v.load()
	}
}

// load reads the grants (one audited call) and the queue's count.
func (v *reviewView) load() {
	var gs []app.GrantView
	all := v.all.Checked
	v.u.work(func(ctx context.Context) error {
		var err error
		gs, err = v.s.EmergencyGrants(ctx, app.GrantFilter{Unreviewed: !all})
		return err
	}, func(err error) {
		if err != nil {
			showOutcome(v.message, "The emergency grants could not be read: "+sentence(err), true)
			return
		}
		v.message.Hide()
		v.grants = gs
		v.fill()
	})
}

// fill shows the grants and puts the count in the tab's title.
func (v *reviewView) fill() {
	pending, overdue := 0, 0
	v.rows.RemoveAll()
	for _, g := range v.grants {
		if g.Review == nil {
			pending++
		}
		if g.Overdue {
			overdue++
		}
		v.rows.Add(v.row(g))
	}
	switch {
	case pending == 0:
		v.summary.SetText("No emergency access waits for review.")
	case overdue > 0:
		v.summary.SetText(fmt.Sprintf("%d waiting for review — %d overdue. Review the overdue ones first.", pending, overdue))
	default:
		v.summary.SetText(fmt.Sprintf("%d waiting for review.", pending))
	}
	if len(v.grants) == 0 && v.all.Checked {
		v.rows.Add(widget.NewLabel("Nobody has used emergency access on this clinic's workstations."))
	}
	v.rows.Refresh()
	v.setTabTitle(pending)
}

// setTabTitle shows the count beside the tab's name.
func (v *reviewView) setTabTitle(pending int) {
	sh := v.u.current()
	if sh == nil {
		return
	}
	for _, it := range sh.tabs.Items {
		if it.Content == fyne.CanvasObject(v) {
			it.Text = reviewTitle
			if pending > 0 {
				it.Text = fmt.Sprintf("%s (%d)", reviewTitle, pending)
			}
			sh.tabs.Refresh()
		}
	}
}

// row is one grant: who, whom, why, how it stands, its review.
func (v *reviewView) row(g app.GrantView) fyne.CanvasObject {
	who := widget.NewLabelWithStyle(fmt.Sprintf("%s (%s) — %s", g.Holder, g.HolderLogin, g.Patient), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	why := emergency.ReasonLabel(g.Reason)
	if g.ReasonText != "" {
		why += ": “" + g.ReasonText + "”"
	}
	state := map[emergency.State]string{emergency.Running: "running, " + minutesLeft(g.TimeLeft),
		emergency.Ended: "ended early at " + g.Ended.Local().Format("15:04"), emergency.Expired: "expired at " + g.Expires.Local().Format("15:04")}[g.State]
	facts := widget.NewLabel(fmt.Sprintf("Started %s · %s · %s", g.Started.Local().Format("2006-01-02 15:04"), why, state))
	facts.Wrapping = fyne.TextWrapWord
	review := widget.NewLabel("")
	review.Wrapping = fyne.TextWrapWord
	button := widget.NewButtonWithIcon("Review…", theme.DocumentCreateIcon(), func() { v.review(g) })
	switch {
	case g.Review != nil:
		review.SetText(fmt.Sprintf("Reviewed %s by %s: %s — %s", g.Review.At.Local().Format("2006-01-02 15:04"), g.Reviewer,
			dispositionWords(g.Review.Disposition), g.Review.Note))
		button.SetText("Change review…")
	case g.Overdue:
		review.SetText("OVERDUE for review")
		review.Importance = widget.DangerImportance
	default:
		review.SetText("Waiting for review")
		review.Importance = widget.WarningImportance
	}
	if g.UserID == v.s.User().ID {
		button.Disable() // nobody reviews their own (app refuses it too)
	}
	return container.NewVBox(container.NewBorder(nil, nil, nil, button, who), facts, review, widget.NewSeparator())
}

func dispositionWords(d string) string {
	if d == emergency.Appropriate {
		return "appropriate"
	}
	return "not appropriate"
}

// review is the dialog of one review: a disposition and a note.
func (v *reviewView) review(g app.GrantView) {
	words := map[string]string{"Appropriate": emergency.Appropriate, "Not appropriate": emergency.NotAppropriate}
	disposition := widget.NewRadioGroup([]string{"Appropriate", "Not appropriate"}, nil)
	disposition.Horizontal = true
	note := newKeyEntry("")
	note.MultiLine = true
	note.Wrapping = fyne.TextWrapWord
	note.SetMinRowsVisible(4)
	note.SetPlaceHolder("What you checked, e.g. the patient was seen in the emergency room that day")
	about := widget.NewLabel(fmt.Sprintf("%s (%s) opened the chart of %s on %s. Reason: %s.", g.Holder, g.HolderLogin, g.Patient,
		g.Started.Local().Format("2006-01-02 15:04"), emergency.ReasonLabel(g.Reason)))
	about.Wrapping = fyne.TextWrapWord
	fields := []*chartField{newChartField("about", "Emergency access", about),
		newChartField("disposition", "Was it appropriate?", disposition), newChartField("note", "Note", note)}
	v.u.showChartForm("Review emergency access", "Save review", 560, fields, func(ctx context.Context, val map[string]string) error {
		_, err := v.s.ReviewGrant(ctx, g.ID, words[val["disposition"]], val["note"])
		return err
	}, func() {
		showOutcome(v.message, "Review saved.", false)
		v.load()
	})
}
