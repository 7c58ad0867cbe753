package gui

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/emergency"
	"ward/store"
)

// Break-glass in the chart: a person denied a chart they may open in an
// emergency is offered "Emergency access…"; a reason opens it, and while
// the grant runs a red banner over the chart says so, with the time left
// and a button to end it. When the grant ends the chart closes.

// emergencyRed is the banner's colour: the same in light and dark themes,
// so it reads as an alarm in both.
var emergencyRed = color.NRGBA{R: 0xb0, G: 0x1c, B: 0x1c, A: 0xff}

// grantBanner is the red band over a chart opened under a grant.
type grantBanner struct {
	box   *fyne.Container
	text  *canvas.Text
	end   *widget.Button
	grant store.Grant
	timer *time.Timer // next update of the time left
}

func newGrantBanner(end func()) *grantBanner {
	b := &grantBanner{text: canvas.NewText("", color.White)}
	b.text.TextStyle = fyne.TextStyle{Bold: true}
	b.end = widget.NewButtonWithIcon("End emergency access", theme.CancelIcon(), end)
	bg := canvas.NewRectangle(emergencyRed)
	b.box = container.NewStack(bg, container.NewPadded(container.NewBorder(nil, nil, nil, b.end, container.NewCenter(b.text))))
	b.box.Hide()
	return b
}

// minutesLeft says the time left as people read it ("1 min left" under a minute).
func minutesLeft(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	return fmt.Sprintf("%d min left", m)
}

// showGrant shows the banner for the chart's running grant, or hides it.
// The time left is redrawn once a minute (a timer, not a ticker: no work
// while nothing changes); at the end, expired runs.
func (cv *chartView) showGrant() {
	b := cv.grantBanner
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	g, ok := cv.s.RunningGrant(cv.patientID)
	if !ok || cv.chart.Patient.ID == "" {
		b.grant = store.Grant{}
		b.box.Hide()
		return
	}
	b.grant = g
	left := time.Until(g.Expires)
	b.text.Text = fmt.Sprintf("EMERGENCY ACCESS — %s — %s. Everything you open is recorded and will be reviewed.",
		minutesLeft(left), emergency.ReasonLabel(g.Reason))
	b.text.Refresh()
	b.box.Show()
	next := left % time.Minute
	if next <= 0 {
		next = time.Minute
	}
	gen := cv.gen
	b.timer = time.AfterFunc(next+50*time.Millisecond, func() {
		fyne.Do(func() {
			if gen != cv.gen {
				return
			}
			if _, ok := cv.s.RunningGrant(cv.patientID); !ok {
				cv.grantEnded("Your emergency access to this chart has ended. If you still need it, ask again.")
				return
			}
			cv.showGrant()
		})
	})
}

// grantEnded closes the chart opened under a grant that ran out or was ended.
func (cv *chartView) grantEnded(why string) {
	id := cv.patientID
	cv.gen++
	cv.forget()
	cv.patientID = id
	cv.showRefusal(why, nil)
}

// endGrant is the banner's button: the holder ends the grant early.
func (cv *chartView) endGrant() {
	g := cv.grantBanner.grant
	if g.ID == "" {
		return
	}
	cv.u.confirmAction("End emergency access", "End your emergency access to this chart now? The chart closes; "+
		"to open it again you would have to give a reason again.", "End access", func() {
		cv.u.work(func(ctx context.Context) error {
			_, err := cv.s.EndGrant(ctx, g.ID)
			return err
		}, func(err error) {
			if err != nil {
				cv.say("Emergency access could not be ended: "+sentence(err), true)
				return
			}
			cv.grantEnded("You ended your emergency access to this chart.")
		})
	})
}

// showRefusal shows why a chart cannot be opened; when err says the person
// may use emergency access, the button for it shows too.
func (cv *chartView) showRefusal(text string, err error) {
	cv.refused.SetText(text)
	var de *app.DeniedError
	if errors.As(err, &de) && de.BreakGlass {
		cv.breakGlass.Show()
	} else {
		cv.breakGlass.Hide()
	}
	cv.showing(cv.refusedBox)
}

// askBreakGlass is the "Emergency access…" dialog: a reason (and words for
// "other"), then the chart opens under the grant.
func (cv *chartView) askBreakGlass() {
	id := cv.patientID
	labels := make([]string, len(emergency.Reasons))
	codes := map[string]string{}
	for i, r := range emergency.Reasons {
		labels[i] = r.Label
		codes[r.Label] = r.Code
	}
	reason := widget.NewRadioGroup(labels, nil)
	text := newKeyEntry("")
	text.MultiLine = true
	text.Wrapping = fyne.TextWrapWord
	text.SetMinRowsVisible(3)
	text.SetPlaceHolder("In a few words (required for \"Other\")")
	warning := widget.NewLabel("Emergency access opens this one patient's chart to you for a limited time set by the clinic. " +
		"Everything you open is recorded with your reason, and a security officer reviews every emergency access.")
	warning.Wrapping = fyne.TextWrapWord
	warning.Importance = widget.WarningImportance
	fields := []*chartField{newChartField("notice", "Before you go on", warning),
		newChartField("reason", "Why do you need this chart?", reason), newChartField("text", "Explanation", text)}
	cv.u.showChartForm("Emergency access", "Open the chart", 560, fields, func(ctx context.Context, v map[string]string) error {
		_, err := cv.s.BreakGlass(ctx, id, codes[v["reason"]], v["text"])
		return err
	}, func() {
		if cv.patientID == id {
			cv.open(id)
		}
	})
}
