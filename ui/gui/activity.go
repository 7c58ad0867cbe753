package gui

import (
	"log"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// Input anywhere in the window (a key, a click, a scroll, a pointer move)
// resets the idle timer of the session in front (u.touch). Fyne reports no
// pointer motion through its public API, so the window's own GLFW input
// callbacks are chained (activity_glfw.go): every event reaches Ward first
// and then Fyne, unchanged. If that ever fails (another Fyne version, another
// driver), the public route below takes over and says so once in the log.

// installActivityHooks makes input anywhere in the window reset the idle
// timer of the session in front. Call it before the window runs: the hooks
// attach on the Fyne goroutine once the window exists.
func (u *UI) installActivityHooks() {
	go fyne.Do(func() {
		if err := chainGLFWInput(u.win, u.touch); err != nil {
			log.Printf("ward: pointer movement cannot reset the idle timer here (%v); keys, clicks into fields and focus changes still do", err)
			u.watchActivityPublic()
		}
	})
}

// activityPoll is how often the public route looks at the focused widget:
// a second is plenty against an idle timeout of a minute or more, and each
// look wakes the Fyne goroutine.
const activityPoll = time.Second

// watchActivityPublic is the public-API route: keys pressed with no widget
// focused (the canvas sees those), and — for keys typed into a field, or a
// click that moves the focus — a change of the focused widget or of its
// text and cursor, looked at every activityPoll. Pointer-only use is not
// seen this way.
func (u *UI) watchActivityPublic() {
	c := u.win.Canvas()
	if dc, ok := c.(desktop.Canvas); ok {
		prevDown := dc.OnKeyDown()
		dc.SetOnKeyDown(func(ev *fyne.KeyEvent) {
			u.touch()
			if prevDown != nil {
				prevDown(ev)
			}
		})
	}
	var last focusState
	go func() {
		t := time.NewTicker(activityPoll)
		defer t.Stop()
		for {
			select {
			case <-u.ctx.Done():
				return
			case <-t.C:
				fyne.Do(func() {
					if now := focusOf(c); now != last {
						last = now
						u.touch()
					}
				})
			}
		}
	}()
}

// focusState is what typing or clicking changes: which widget has the
// focus and, for a text field, its text and cursor.
type focusState struct {
	obj      fyne.Focusable
	text     string
	row, col int
}

func focusOf(c fyne.Canvas) focusState {
	f := c.Focused()
	st := focusState{obj: f}
	if e, ok := f.(*widget.Entry); ok {
		st.text, st.row, st.col = e.Text, e.CursorRow, e.CursorColumn
	}
	return st
}
