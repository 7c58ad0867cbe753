package gui

import (
	"log"

	"fyne.io/fyne/v2"

	"ward/app"
)

// runJobs runs this workstation's background jobs (scheduled backups and
// restore drills, the replica) while the window is open, as `ward serve`
// does headless. A job that fails is shown in the shell's footer to those
// who can act on it. The returned channel closes when the jobs have
// stopped (after the window closes), before the clinic may be closed.
func (u *UI) runJobs() <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := app.Serve(u.ctx, u.clinic.Jobs(), u.jobEvent)
		if err != nil && u.ctx.Err() == nil {
			log.Printf("ward: %v", err) // job errors name no patient data
		}
	}()
	return done
}

// jobEvent takes news from a background job (any goroutine).
func (u *UI) jobEvent(e app.Event) {
	u.mu.Lock()
	if e.Failed {
		u.jobProblem = e
	} else if e.Job == u.jobProblem.Job {
		u.jobProblem = app.Event{} // the job has recovered
	}
	sh := u.shell
	u.mu.Unlock()
	if sh != nil {
		fyne.Do(func() { u.showJobProblem(sh) })
	}
}

// showJobProblem fills sh's footer from the newest failed job.
func (u *UI) showJobProblem(sh *shell) {
	u.mu.Lock()
	e := u.jobProblem
	u.mu.Unlock()
	if e.Job == "" || !(sh.s.Allowed(app.ActSettingsEdit) || sh.s.Allowed(app.ActAuditRead)) {
		sh.background.Hide()
		return
	}
	sh.background.SetText("Background work needs attention — " + e.Job + ": " + capital(e.Text) + " (" + e.At.Local().Format("15:04") + ")")
	sh.background.Show()
}
