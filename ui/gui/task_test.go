package gui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// A long task shows its title, a moving bar until it knows its total, then
// "N of M" on a determinate bar; it closes when the work returns and done
// gets the work's error once, with the window's Esc handling put back.
func TestLongTaskProgressAndDone(t *testing.T) {
	u := bareUI(t)
	step := make(chan struct{})
	calls, got := 0, errors.New("done not called")
	workErr := errors.New("the disk is full")
	u.longTask("Checking the audit chain", func(ctx context.Context, progress func(done, total uint64)) error {
		progress(0, 0)
		<-step
		for i := uint64(0); i <= 1500; i++ { // more reports than frames: throttled
			progress(i, 6000)
		}
		<-step
		return workErr
	}, func(err error) { calls++; got = err })

	// The screen is read one event at a time with the redraws.
	var text string
	var bar *widget.ProgressBar
	var moving *widget.ProgressBarInfinite
	look := func() { text = visibleText(u); bar, moving = taskBars(t, u) }
	u.shown(look)
	if !strings.Contains(text, "Checking the audit chain") || !moving.Visible() || bar.Visible() {
		t.Fatalf("before a total: moving bar %v, bar %v, text:\n%s", moving.Visible(), bar.Visible(), text)
	}
	step <- struct{}{}
	waitFor(t, "1,500 of 6,000", func() bool { u.shown(look); return strings.Contains(text, "1,500 of 6,000") })
	var shownBar, shownMoving bool
	var value float64
	u.shown(func() { shownBar, shownMoving, value = bar.Visible(), moving.Visible(), bar.Value })
	if !shownBar || shownMoving || value != 0.25 {
		t.Fatalf("with a total: bar visible %v value %v, moving %v", shownBar, value, shownMoving)
	}
	step <- struct{}{}
	u.settle()
	if calls != 1 || got != workErr {
		t.Fatalf("done called %d times with %v", calls, got)
	}
	if n := len(u.win.Canvas().Overlays().List()); n != 0 {
		t.Fatalf("%d dialogs still open after the task", n)
	}
	if u.win.Canvas().OnTypedKey() != nil {
		t.Fatal("the task's Esc handler outlived it")
	}
}

// Cancel, Esc (with and without the Cancel button focused) and a lock all
// stop the work: its context is cancelled and done gets context.Canceled.
func TestLongTaskCancel(t *testing.T) {
	u := bareUI(t)
	ways := map[string]func(){
		"Cancel": func() { test.Tap(taskButton(t, u)) },
		"Esc":    func() { pressEsc(u) },
		"Esc on the focused button": func() {
			u.win.Canvas().Focus(taskButton(t, u))
			pressEsc(u)
		},
		"lock": u.closeDialogs,
	}
	// What a person does reaches the window one event at a time, as the
	// redraws of the progress do.
	for name, do := range ways {
		ways[name] = func() { u.shown(do) }
	}
	for name, cancel := range ways {
		started := make(chan struct{})
		var got error
		u.longTask("Exporting", func(ctx context.Context, _ func(done, total uint64)) error {
			close(started)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Second):
				return nil
			}
		}, func(err error) { got = err })
		<-started
		cancel()
		u.settle()
		if !errors.Is(got, context.Canceled) {
			t.Errorf("%s: done got %v, want context.Canceled", name, got)
		}
		if n := len(u.win.Canvas().Overlays().List()); n != 0 {
			t.Errorf("%s: %d dialogs still open", name, n)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

// bareUI is a window with no clinic behind it (long tasks need none).
func bareUI(t *testing.T) *UI {
	u := New(test.NewTempApp(t), nil, errors.New("no clinic in this test"))
	t.Cleanup(func() { u.settle(); u.win.Close() })
	return u
}

// taskBars finds the progress bars of the long task's dialog.
func taskBars(t *testing.T, u *UI) (*widget.ProgressBar, *widget.ProgressBarInfinite) {
	t.Helper()
	var bar *widget.ProgressBar
	var moving *widget.ProgressBarInfinite
	for _, o := range overlayObjects(u) {
		switch x := o.(type) {
		case *widget.ProgressBar:
			bar = x
		case *widget.ProgressBarInfinite:
			moving = x
		}
	}
	if bar == nil || moving == nil {
		t.Fatal("no progress dialog showing")
	}
	return bar, moving
}

// taskButton is the long task dialog's Cancel.
func taskButton(t *testing.T, u *UI) *escButton {
	t.Helper()
	for _, o := range overlayObjects(u) {
		if b, ok := o.(*escButton); ok {
			return b
		}
	}
	t.Fatal("no Cancel button showing")
	return nil
}

// overlayObjects is everything in the window's dialogs.
func overlayObjects(u *UI) []fyne.CanvasObject {
	var out []fyne.CanvasObject
	for _, o := range u.win.Canvas().Overlays().List() {
		out = append(out, test.LaidOutObjects(o)...)
	}
	return out
}

// pressEsc delivers Esc the way the desktop driver does: to the focused
// widget, or to the window when nothing has focus.
func pressEsc(u *UI) {
	ev := &fyne.KeyEvent{Name: fyne.KeyEscape}
	c := u.win.Canvas()
	if f := c.Focused(); f != nil {
		f.TypedKey(ev)
	} else if h := c.OnTypedKey(); h != nil {
		h(ev)
	}
}

// waitFor polls cond (work on other goroutines updates the screen) for up
// to five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
