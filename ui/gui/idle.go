package gui

import (
	"time"

	"fyne.io/fyne/v2"
)

// Auto-lock. The session keeps its own wall-clock idle timer (app); the
// window reports activity to it (u.touch, from activity.go's hooks) and
// asks it every idleTick whether it is due. A machine that slept past the
// timeout is locked on the first tick after it wakes.
const (
	idleTick   = 250 * time.Millisecond // the lock screen appears within one tick of the timeout
	warnBefore = 30 * time.Second       // the countdown shows this long before
)

// touch records input in the window for the session in front.
func (u *UI) touch() {
	if s := u.desk.Front(); s != nil {
		s.Touch()
	}
}

// watchIdle runs the idle check until the window closes.
func (u *UI) watchIdle() {
	go func() {
		t := time.NewTicker(idleTick)
		defer t.Stop()
		for {
			select {
			case <-u.ctx.Done():
				return
			case <-t.C:
				u.checkIdle()
			}
		}
	}()
}

// checkIdle locks the session in front when it is due (audited by app)
// and keeps the countdown up to date. Off the Fyne goroutine.
func (u *UI) checkIdle() {
	sh := u.current()
	if sh == nil {
		return
	}
	if sh.s.CheckIdle(u.ctx) {
		fyne.Do(func() {
			if u.current() == sh {
				u.showLocked(sh.s)
			}
		})
		return
	}
	left := sh.s.IdleRemaining()
	fyne.Do(func() {
		if u.current() == sh {
			sh.showCountdown(left)
		}
	})
}

// focusLost locks the session in front when the clinic asks for it.
func (u *UI) focusLost() {
	if sh := u.current(); sh != nil && sh.s.LockOnFocusLoss() {
		u.lockNow("focus")
	}
}
