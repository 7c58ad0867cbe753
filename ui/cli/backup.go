package cli

import (
	"flag"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"ward/app"
)

const backupUsage = `  backup --out FILE        an encrypted backup (restores with the recovery code alone)
  backup verify FILE [--code]      restore drill into a temp folder: integrity, cipher, audit chains
  backup status            last good backup, last drill, what needs doing (exit 1 if something does)
  restore --from FILE [--force]    restore into --data DIR under a new key (recovery code asked)
  serve [--once]           run the background jobs (backups, drills, replica) until stopped; --once: the backup and drill due now
`

// ward --user U backup --out FILE | backup verify FILE [--code] | backup status
func (e *env) cmdBackup(args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "verify":
			return e.cmdBackupVerify(args[1:])
		case "status":
			return e.cmdBackupStatus(args[1:])
		}
	}
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	out := fs.String("out", "", "")
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *out == "" {
		return usagef("backup needs --out FILE (scheduled backups go to the folder in the setting %s)", app.SettingBackupFolder)
	}
	return e.withSession(func(s *app.Session) error {
		c := s.Clinic()
		fmt.Fprintf(e.stderr, "Backing up clinic %q (workstation %s)…\n", c.Name(), c.Node().ID)
		res, err := s.Backup(e.ctx, *out, e.byteProgress("Copying the database, encrypted"))
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Backup written: %s (%.1f MB, %.1f s), with the heads of %d audit chains in its header.\n",
			res.Path, float64(res.Bytes)/1e6, res.Took.Seconds(), len(res.Header.Chains))
		fmt.Fprintf(e.stdout, "It restores with the clinic's current recovery code: ward restore --from %s --data NEW-FOLDER\n", res.Path)
		return nil
	})
}

func (e *env) cmdBackupVerify(args []string) error {
	fs := flag.NewFlagSet("backup verify", flag.ContinueOnError)
	withCode := fs.Bool("code", false, "")
	pos, err := e.parseFlags(fs, args, 1)
	if err != nil {
		return err
	}
	steps := func(step string) { fmt.Fprintf(e.stderr, "%s…\n", step) }
	var rep app.DrillReport
	if *withCode {
		rep, err = app.VerifyBackupWithCode(e.ctx, pos[0], func() (string, error) { return e.secret("Recovery code") }, steps)
		if err != nil {
			return err
		}
	} else {
		if e.user == "" {
			return usagef("backup verify needs a person (--user USERNAME) to use this workstation's key, or --code to use the recovery code")
		}
		err = e.withSession(func(s *app.Session) error {
			rep, err = s.VerifyBackup(e.ctx, pos[0], steps)
			return err
		})
		if err != nil {
			return err
		}
	}
	h := rep.Header
	fmt.Fprintf(e.stdout, "Backup %s: clinic %q, workstation %s, made %s.\n", rep.File, h.Clinic, h.Node, h.Created.Format(time.RFC3339))
	if len(rep.Integrity) == 0 {
		fmt.Fprintln(e.stdout, "Database integrity: ok (SQLite integrity check and SQLCipher page authentication).")
	}
	for _, p := range rep.Integrity {
		fmt.Fprintf(e.stdout, "Database integrity PROBLEM: %s\n", p)
	}
	printAuditReport(e.stdout, rep.Audit)
	for _, m := range rep.Mismatch {
		fmt.Fprintf(e.stdout, "Header PROBLEM: %s\n", m)
	}
	if !rep.OK() {
		fmt.Fprintln(e.stdout, "Restore drill FAILED: this backup does not restore whole; make a new backup and keep an older one that passes.")
		return failedError{}
	}
	if len(rep.Mismatch) == 0 {
		fmt.Fprintln(e.stdout, "Chain heads: as recorded in the backup's header.")
	}
	fmt.Fprintf(e.stdout, "Restore drill passed in %.1f s: this backup restores (the temporary copy is removed).\n", rep.Took.Seconds())
	return nil
}

func (e *env) cmdBackupStatus(args []string) error {
	if _, err := e.parseFlags(flag.NewFlagSet("backup status", flag.ContinueOnError), args, 0); err != nil {
		return err
	}
	return e.withSession(func(s *app.Session) error {
		st, err := s.BackupStatus(e.ctx)
		if err != nil {
			return err
		}
		if st.Folder != "" {
			fmt.Fprintf(e.stdout, "Scheduled backups: every %s into %s, keeping %d; restore drills every %s.\n",
				every(st.Interval, time.Hour, "hour"), st.Folder, st.Keep, every(st.DrillEvery, 24*time.Hour, "day"))
			newest := "none"
			if len(st.InFolder) > 0 {
				newest = st.InFolder[0]
			}
			fmt.Fprintf(e.stdout, "Backups of this workstation in the folder: %d (newest: %s).\n", len(st.InFolder), newest)
		}
		if r := st.LastGood; r != nil {
			fmt.Fprintf(e.stdout, "Last good backup: %s (%s ago): %s (%.1f MB).\n", r.At.Format(time.RFC3339), ago(st.Now, r.At), r.File, float64(r.Bytes)/1e6)
		}
		if r := st.LastDrill; r != nil && r.OK {
			fmt.Fprintf(e.stdout, "Last restore drill: %s (%s ago), of %s: passed.\n", r.At.Format(time.RFC3339), ago(st.Now, r.At), r.File)
		}
		problems := st.Problems()
		for _, p := range problems {
			fmt.Fprintf(e.stdout, "PROBLEM: %s\n", p)
		}
		if len(problems) > 0 {
			return failedError{}
		}
		fmt.Fprintln(e.stdout, "Backups are in order.")
		return nil
	})
}

// every says a schedule's period in the unit of its setting.
func every(d, unit time.Duration, name string) string {
	if n := int(d / unit); n != 1 {
		return fmt.Sprintf("%d %ss", n, name)
	}
	return name
}

func ago(now, t time.Time) string {
	d := now.Sub(t).Round(time.Minute)
	if d < time.Hour {
		return fmt.Sprintf("%d min", int(d/time.Minute))
	}
	return fmt.Sprintf("%.1f h", d.Hours())
}

// ward restore --from FILE --data DIR [--force]
func (e *env) cmdRestore(args []string) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	from := fs.String("from", "", "")
	force := fs.Bool("force", false, "")
	sheet := fs.String("kit-sheet", "", "")
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *from == "" {
		return usagef("restore needs --from FILE (a backup) and --data DIR (the folder to restore into)")
	}
	res, err := app.Restore(e.ctx, app.RestoreOptions{From: *from, Dir: e.dataDir, Force: *force, Keyring: e.keyring,
		Code:     func() (string, error) { return e.secret("Recovery code") },
		Progress: func(step string) { fmt.Fprintf(e.stderr, "%s…\n", step) }})
	if err != nil {
		return err
	}
	c := res.Clinic
	defer c.Close()
	h := res.Drill.Header
	fmt.Fprintf(e.stdout, "Restored clinic %q (workstation %s) from the backup made %s into %s.\n",
		c.Name(), c.Node().ID, h.Created.Format(time.RFC3339), c.Dir())
	fmt.Fprintln(e.stdout, "Database integrity: ok (SQLite integrity check and SQLCipher page authentication).")
	printAuditReport(e.stdout, res.Drill.Audit)
	fmt.Fprintln(e.stdout, "Chain heads: as recorded in the backup's header. The restore is recorded in the audit chain.")
	if res.Replaced != "" {
		fmt.Fprintf(e.stdout, "The database that was in %s is now in %s; it opens with its own kit and recovery code.\n", c.Dir(), res.Replaced)
	}
	fmt.Fprintln(e.stdout, "The restored database has a new key, kept in this machine's OS keyring, and a new emergency kit.")
	return e.printRecoveryCode(c, res.Code, *sheet)
}

// ward serve [--once]: the workstation's background jobs, headless.
func (e *env) cmdServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	once := fs.Bool("once", false, "")
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	c, err := e.openClinic()
	if err != nil {
		return err
	}
	defer c.Close()
	show := func(ev app.Event) { fmt.Fprintln(e.stdout, ev) }
	if *once {
		if !c.RunDueBackups(e.ctx, show) {
			return failedError{}
		}
		return nil
	}
	st, err := c.BackupStatus(e.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Serving clinic %q on workstation %s. Stop with Ctrl-C or SIGTERM.\n", c.Name(), c.Node().ID)
	if st.Folder == "" {
		fmt.Fprintf(e.stdout, "Scheduled backups are OFF: set %s to a folder on another disk.\n", app.SettingBackupFolder)
	} else {
		fmt.Fprintf(e.stdout, "Scheduled backups every %s into %s; restore drills every %s.\n", every(st.Interval, time.Hour, "hour"), st.Folder, every(st.DrillEvery, 24*time.Hour, "day"))
	}
	ctx, stop := signal.NotifyContext(e.ctx, syscall.SIGTERM)
	defer stop()
	if err := app.Serve(ctx, c.Jobs(), show); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "Stopped.")
	return nil
}

// byteProgress reports a copy's progress on stderr in megabytes.
func (e *env) byteProgress(what string) func(done, total int64) {
	p := e.progressf(what, func(done, total uint64) string {
		return fmt.Sprintf("%.1f of %.1f MB", float64(done)/1e6, float64(total)/1e6)
	})
	return func(done, total int64) { p(uint64(done), uint64(total)) }
}
