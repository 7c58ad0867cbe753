package gui

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// progressEvery is how often a long task's dialog is redrawn at most: work
// may report progress per entry, the screen needs ~10 frames a second.
const progressEvery = 100 * time.Millisecond

// longTask runs work that can take a while (verifying a million audit
// entries, an export, a backup) behind a modal dialog: the title, a
// progress bar (determinate once run reports a total, moving otherwise)
// and Cancel (Esc too). Cancel cancels run's ctx; the dialog closes when
// run returns, and done gets run's error on the Fyne goroutine —
// context.Canceled when the person cancelled.
//
// The dialog also goes when the window locks (closeDialogs): the work is
// then cancelled, since nobody is there to see it finish. done should show
// its result in the section (or a dialog of its own), and nothing for
// context.Canceled beyond a line saying it stopped.
func (u *UI) longTask(title string, run func(ctx context.Context, progress func(done, total uint64)) error, done func(error)) {
	ctx, cancel := context.WithCancel(u.ctx)
	t := &taskDialog{cancel: cancel}
	t.show(u, title)

	var doneN, totalN atomic.Uint64
	progress := func(d, n uint64) { doneN.Store(d); totalN.Store(n) }
	finished, redrawn := make(chan struct{}), make(chan struct{})

	u.pending.Add(1)
	go func() { // the redraws: at most one per progressEvery
		defer u.pending.Done()
		defer close(redrawn)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-finished:
				return
			case <-tick.C:
				d, n := doneN.Load(), totalN.Load()
				u.shown(func() {
					if !overlayShowing(u.win.Canvas(), t.popup) { // removed by a lock
						cancel()
						return
					}
					t.update(d, n)
				})
			}
		}
	}()

	u.pending.Add(1)
	go func() {
		defer u.pending.Done()
		err := run(ctx, progress)
		if err == nil && ctx.Err() != nil && t.cancelled.Load() {
			err = context.Canceled // run finished its last step as Cancel was pressed
		}
		close(finished)
		<-redrawn // no redraw after the dialog closed
		u.shown(func() {
			t.close(u)
			cancel()
			done(err)
		})
	}()
}

// shown runs fn on the Fyne goroutine, one at a time with work's results
// (see work: under the test driver fyne.DoAndWait runs fn right here).
func (u *UI) shown(fn func()) {
	u.doneMu.Lock()
	defer u.doneMu.Unlock()
	fyne.DoAndWait(fn)
}

// taskDialog is longTask's dialog.
type taskDialog struct {
	cancel    context.CancelFunc
	cancelled atomic.Bool
	// mu orders Cancel and the redraws. The Fyne goroutine does that in
	// the app; under the test driver fyne.Do runs on the caller's goroutine.
	mu sync.Mutex

	d        *dialog.CustomDialog
	popup    fyne.CanvasObject // the dialog's overlay, to tell whether it still shows
	bar      *widget.ProgressBar
	moving   *widget.ProgressBarInfinite
	status   *widget.Label
	button   *escButton
	restore  func() // puts back the window's Enter and Esc handling
	lastDone uint64
}

func (t *taskDialog) show(u *UI, title string) {
	t.bar = widget.NewProgressBar()
	t.bar.Hide()
	t.moving = widget.NewProgressBarInfinite()
	t.status = widget.NewLabel("Working…")
	t.button = newEscButton("Cancel", theme.CancelIcon(), t.stop)
	content := container.NewVBox(t.bar, t.moving, t.status)
	t.d = dialog.NewCustomWithoutButtons(title, container.NewGridWrap(fyne.NewSize(420, content.MinSize().Height), content), u.win)
	t.d.SetButtons([]fyne.CanvasObject{t.button})
	t.d.Show()
	t.popup = u.win.Canvas().Overlays().Top()
	u.win.Canvas().Unfocus() // so Esc reaches the window's handler
	t.restore = u.dialogKeys(func() {}, t.stop)
}

// stop is Cancel: the work sees its context cancelled and returns.
func (t *taskDialog) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cancelled.Swap(true) {
		return
	}
	t.cancel()
	t.status.SetText("Cancelling…")
	t.button.Disable()
}

// update shows done of total (total 0: not known yet).
func (t *taskDialog) update(done, total uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cancelled.Load() {
		return
	}
	if total == 0 {
		if done != t.lastDone {
			t.status.SetText(count(done) + " done")
		}
		t.lastDone = done
		return
	}
	if t.moving.Visible() {
		t.moving.Stop()
		t.moving.Hide()
		t.bar.Show()
	}
	t.bar.SetValue(float64(min(done, total)) / float64(total))
	t.status.SetText(count(done) + " of " + count(total))
}

func (t *taskDialog) close(u *UI) {
	t.restore()
	t.moving.Stop()
	if overlayShowing(u.win.Canvas(), t.popup) {
		t.d.Hide()
	}
}

// escButton is a button that is also tapped by Esc while it has focus
// (a dialog's Cancel / Close).
type escButton struct{ widget.Button }

func newEscButton(label string, icon fyne.Resource, tapped func()) *escButton {
	b := &escButton{}
	b.Text, b.Icon, b.OnTapped = label, icon, tapped
	b.ExtendBaseWidget(b)
	return b
}

// TypedKey taps the button on Esc.
func (b *escButton) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape && !b.Disabled() && b.OnTapped != nil {
		b.OnTapped()
		return
	}
	b.Button.TypedKey(ev)
}

// count writes n with thousands separators: 1,000,000.
func count(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
