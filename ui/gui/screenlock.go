package gui

import (
	"context"
	"log"

	"fyne.io/fyne/v2"
	"github.com/godbus/dbus/v5"
)

// OS screen lock locks Ward. GLFW does not see the desktop's screen lock
// under X11, so Ward listens on D-Bus for the two signals desktops send:
// the screen saver's ActiveChanged(true) on the session bus (freedesktop
// and GNOME names), and logind's Lock for this login session on the system
// bus (`loginctl lock-session`, the lock key on many desktops). Either locks
// the session in front with reason "screen".

// screenSaverIfaces are the screen saver interfaces that say ActiveChanged.
var screenSaverIfaces = []string{"org.freedesktop.ScreenSaver", "org.gnome.ScreenSaver"}

const (
	logindSessionIface = "org.freedesktop.login1.Session"
	logindManagerIface = "org.freedesktop.login1.Manager"
)

// watchScreenLock starts listening for the desktop's screen lock until the
// window closes. A desktop without a bus, screen saver or logind just has
// no signal to give: Ward says so once in its log and goes on.
func (u *UI) watchScreenLock() {
	lock := u.screenLocked
	go func() {
		if conn, err := dbus.ConnectSessionBus(); err != nil {
			log.Printf("ward: the desktop's screen saver cannot lock Ward (no session bus: %v)", err)
		} else if err := listenScreenLock(u.ctx, conn, "", lock); err != nil {
			log.Printf("ward: the desktop's screen saver cannot lock Ward: %v", err)
		}
		conn, err := dbus.ConnectSystemBus()
		if err != nil {
			return // no system bus (a container, a test): logind cannot speak
		}
		var path dbus.ObjectPath
		if err := conn.Object("org.freedesktop.login1", "/org/freedesktop/login1").
			CallWithContext(u.ctx, logindManagerIface+".GetSession", 0, "auto").Store(&path); err != nil {
			conn.Close()
			return // not in a logind session
		}
		if err := listenScreenLock(u.ctx, conn, path, lock); err != nil {
			log.Printf("ward: logind's screen lock cannot lock Ward: %v", err)
		}
	}()
}

// screenLocked locks the session in front, if the window shows one (a
// lock screen stays as it is, with whatever is typed in it). Any goroutine.
func (u *UI) screenLocked() {
	fyne.Do(func() {
		if u.current() != nil {
			u.lockNow("screen")
		}
	})
}

// listenScreenLock calls onLock (from its own goroutine) for each screen
// saver ActiveChanged(true) on conn and, when logindSession is not empty,
// each logind Lock of that session. It owns conn and closes it when ctx
// ends. The matches are in place when it returns.
func listenScreenLock(ctx context.Context, conn *dbus.Conn, logindSession dbus.ObjectPath, onLock func()) error {
	var err error
	if logindSession == "" {
		for _, iface := range screenSaverIfaces {
			if err == nil {
				err = conn.AddMatchSignalContext(ctx, dbus.WithMatchInterface(iface), dbus.WithMatchMember("ActiveChanged"))
			}
		}
	} else {
		err = conn.AddMatchSignalContext(ctx, dbus.WithMatchInterface(logindSessionIface), dbus.WithMatchMember("Lock"),
			dbus.WithMatchObjectPath(logindSession))
	}
	if err != nil {
		conn.Close()
		return err
	}
	ch := make(chan *dbus.Signal, 16)
	conn.Signal(ch)
	go func() {
		defer conn.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case sig, ok := <-ch:
				if !ok {
					return
				}
				if isScreenLock(sig, logindSession) {
					onLock()
				}
			}
		}
	}()
	return nil
}

// isScreenLock tells whether sig says the screen is being locked.
func isScreenLock(sig *dbus.Signal, logindSession dbus.ObjectPath) bool {
	if logindSession != "" {
		return sig.Name == logindSessionIface+".Lock" && sig.Path == logindSession
	}
	for _, iface := range screenSaverIfaces {
		if sig.Name == iface+".ActiveChanged" && len(sig.Body) == 1 {
			active, _ := sig.Body[0].(bool)
			return active
		}
	}
	return false
}
