package gui

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"ward/app"
	"ward/assets"
	"ward/store"
)

// Run opens Ward's window on the clinic in dataDir and returns when the
// window is closed. A clinic that cannot be opened (no database, keyring
// locked, key missing) still gets a window that says why and what to do.
func Run(dataDir string) error {
	if err := needDesktop(); err != nil {
		return err
	}
	fa := fyneapp.NewWithID(AppID)
	fa.SetIcon(assets.Icon)
	var clinic *app.Clinic
	var err error
	fresh := !store.Exists(dataDir)
	if !fresh {
		clinic, err = app.Open(context.Background(), dataDir, store.OSKeyring{})
	}
	u := New(fa, clinic, err)
	if fresh { // join a clinic from here, or say how to start one
		u.showNoClinic(dataDir, store.OSKeyring{})
	}
	if clinic != nil {
		u.jobsDone = u.runJobs()
	}
	u.applyTheme()
	u.installActivityHooks()
	u.watchScreenLock()
	u.startTour()
	fa.Lifecycle().SetOnExitedForeground(u.focusLost)
	defer u.closeOnSignal()()
	u.win.ShowAndRun()
	u.close()
	u.joining.Wait()     // a join cut short leaves the folder empty again
	if u.clinic != nil { // opened here, or joined in this window
		<-u.jobsDone // the window's close cancelled them
		return u.clinic.Close()
	}
	return nil
}

// needDesktop says why no window can open here, or nil.
func needDesktop() error {
	if runtime.GOOS == "linux" && os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return errors.New("Ward's window needs a desktop session, and none is reachable (DISPLAY and WAYLAND_DISPLAY are not set): " +
			"start Ward from the desktop, or use the command line (`ward help`)")
	}
	return nil
}

// closeOnSignal makes SIGTERM/SIGINT (logout, shutdown, kill) close the
// window the normal way: sessions signed out, jobs stopped, the database
// closed. Call the function it returns once the window has closed.
func (u *UI) closeOnSignal() (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, os.Interrupt)
	go func() {
		select {
		case <-ch:
			fyne.Do(u.win.Close)
		case <-u.ctx.Done():
		}
	}()
	return func() { signal.Stop(ch) }
}
