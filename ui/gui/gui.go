// Package gui is Ward's window (Fyne). It talks to app only: every screen
// is built from app's services, so what the GUI may do is exactly what the
// signed-in person's roles allow through the one audited door.
//
// Threading: Fyne widgets are touched on the Fyne goroutine only. Work that
// reaches the database runs on a goroutine (u.work / u.longTask) and hands
// its result back with fyne.Do.
package gui

import (
	"context"
	"fmt"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"ward/app"
)

// AppID is the application id of FyneApp.toml (preferences, packaging).
const AppID = "org.ward.clinic"

// UI is one Ward window on one workstation's clinic.
type UI struct {
	fa     fyne.App
	win    fyne.Window
	clinic *app.Clinic // nil when the clinic could not be opened
	desk   *app.Desk
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	shell   *shell      // the signed-in frame, nil on the sign-in and lock screens
	signin  *signInForm // the sign-in / lock screen while it shows
	pending sync.WaitGroup
	doneMu  sync.Mutex // one work result shown at a time (see work)

	closeOnce sync.Once

	jobProblem app.Event // the newest failed background job, if any (guarded by mu)
	idle       idleWatch // what the idle check saw last (idle.go)

	jobsDone <-chan struct{} // closes when the background jobs have stopped (nil: none run)
	join     *joinForm       // the join screen while it shows (no clinic here yet)
	joining  sync.WaitGroup  // a join under way (Run waits for it to tidy up)
}

// New makes the window for clinic on fa. openErr, when clinic is nil, is
// why it could not be opened: the window says so and what to do.
func New(fa fyne.App, clinic *app.Clinic, openErr error) *UI {
	u := newWindow(fa, clinic)
	if clinic == nil {
		u.showProblem(openErr)
		return u
	}
	u.showSignIn("")
	u.watchIdle()
	return u
}

// newWindow is the empty window on clinic: New and NewKit fill it.
func newWindow(fa fyne.App, clinic *app.Clinic) *UI {
	ctx, cancel := context.WithCancel(context.Background())
	u := &UI{fa: fa, clinic: clinic, desk: app.NewDesk(), ctx: ctx, cancel: cancel}
	u.win = fa.NewWindow("Ward")
	u.win.Resize(fyne.NewSize(1100, 720))
	u.win.SetOnClosed(u.close)
	return u
}

// Window is the Fyne window (tests drive its canvas).
func (u *UI) Window() fyne.Window { return u.win }

// close signs everyone out of this desk and stops background work. It
// runs once: from the window's close, or from Run after the app stopped
// (the driver may quit without calling the window's OnClosed).
func (u *UI) close() { u.closeOnce.Do(u.closeNow) }

func (u *UI) closeNow() {
	u.cancel()
	if u.clinic == nil {
		return
	}
	for _, s := range append(u.desk.Waiting(), u.desk.Front()) {
		if s != nil {
			s.SignOut(context.Background())
		}
	}
}

// setTitle names the clinic and, when someone is signed in and the window
// is not locked, the person: never a patient.
func (u *UI) setTitle(person string) {
	t := "Ward"
	if u.clinic != nil {
		t = u.clinic.Name() + " — Ward"
	}
	if person != "" {
		t = fmt.Sprintf("%s — %s", person, t)
	}
	u.win.SetTitle(t)
}

// showProblem is the whole window when the clinic cannot be opened.
func (u *UI) showProblem(err error) {
	u.setTitle("")
	title := widget.NewLabelWithStyle("Ward cannot open this workstation's records", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	msg := widget.NewLabel(sentence(err))
	msg.Wrapping = fyne.TextWrapWord
	quit := widget.NewButton("Close Ward", func() { u.win.Close() })
	u.setContent(container.NewCenter(container.NewVBox(title, msg, quit)))
}

// work runs fn off the Fyne goroutine (it may reach the database) and then
// done on it with fn's error.
func (u *UI) work(fn func(ctx context.Context) error, done func(error)) {
	u.pending.Add(1)
	go func() {
		defer u.pending.Done()
		err := fn(u.ctx)
		// The real driver runs done on its own goroutine, one at a time;
		// Fyne's test driver runs it right here, so two finishing together
		// would touch widgets at once. The lock makes both behave alike.
		u.doneMu.Lock()
		defer u.doneMu.Unlock()
		fyne.DoAndWait(func() { done(err) })
	}()
}

// settle waits until the work started so far has finished and shown its
// result (tests call it between a tap and an assertion).
func (u *UI) settle() { u.pending.Wait() }
