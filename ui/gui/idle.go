package gui

import (
	"runtime/debug"
	"sync"
	"time"

	"fyne.io/fyne/v2"
)

// Auto-lock. The session keeps its own wall-clock idle timer (app); input
// in the window resets it (u.touch, from activity.go's hooks, with no
// screen work). The idle check sleeps until the next moment the screen can
// change — the next whole second of the time left, which is when the
// countdown starts, ticks and ends in the lock — and touches the screen
// only then. Timers stop while the machine sleeps, so it never sleeps
// longer than a second: a machine that slept past the timeout is locked
// within a second of waking.
const (
	warnBefore = 30 * time.Second // the countdown shows this long before
	// releaseAfter: once nobody has touched the window this long, the
	// memory that the work before left as garbage goes back to the system
	// (Go returns it by itself only slowly: a first replica export of a big
	// clinic left ~40 MB for minutes).
	releaseAfter = 10 * time.Second
)

// idleWatch is what the idle check remembers between two looks.
type idleWatch struct {
	mu       sync.Mutex
	sh       *shell // the shell it last looked at
	shown    int    // the countdown's seconds on screen, 0 when hidden
	released bool   // memory given back since the last input
}

// touch records input in the window for the session in front.
func (u *UI) touch() {
	if s := u.desk.Front(); s != nil {
		s.Touch()
	}
}

// watchIdle runs the idle check until the window closes.
func (u *UI) watchIdle() {
	go func() {
		t := time.NewTimer(time.Second)
		defer t.Stop()
		for {
			select {
			case <-u.ctx.Done():
				return
			case <-t.C:
				t.Reset(u.checkIdle())
			}
		}
	}()
}

// checkIdle locks the session in front when it is due (audited by app),
// shows, counts down or hides the warning when its second changes, and
// says when to look again. Off the Fyne goroutine.
func (u *UI) checkIdle() time.Duration {
	w := &u.idle
	w.mu.Lock()
	defer w.mu.Unlock()
	sh := u.current()
	if sh != w.sh { // a new shell shows no countdown
		w.sh, w.shown, w.released = sh, 0, false
	}
	if sh == nil {
		return time.Second
	}
	if sh.s.CheckIdle(u.ctx) {
		fyne.Do(func() {
			if u.current() == sh {
				u.showLocked(sh.s)
			}
		})
		return time.Second
	}
	left := sh.s.IdleRemaining()
	secs := 0
	if left <= warnBefore {
		secs = int((left + time.Second - 1) / time.Second)
	}
	if secs != w.shown {
		w.shown = secs
		fyne.Do(func() {
			if u.current() == sh {
				sh.showCountdown(time.Duration(secs) * time.Second)
			}
		})
	}
	idleFor := sh.s.IdleTimeout() - left
	if idleFor < releaseAfter {
		w.released = false
	} else if !w.released {
		w.released = true
		go debug.FreeOSMemory()
	}
	next := left % time.Second
	if next == 0 {
		next = time.Second
	}
	return next
}

// focusLost locks the session in front when the clinic asks for it.
func (u *UI) focusLost() {
	if sh := u.current(); sh != nil && sh.s.LockOnFocusLoss() {
		u.lockNow("focus")
	}
}
