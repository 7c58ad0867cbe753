package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"ward/store"
)

// Scheduled backups and restore drills. Each workstation backs up its own
// database into the clinic's backup folder (admin settings) under names that
// carry its node id, keeps the newest N of its own, and drills the newest
// one on a weekly (by default) schedule with its own key.

const (
	// scheduleTick: how often the schedule looks at the clock and the
	// settings. Wall-clock based, so a machine that slept catches up on waking.
	scheduleTick = time.Minute
	// retryAfter: how long the schedule waits after a failed backup.
	retryAfter = 15 * time.Minute
	// staleTemp: temp files older than this in the folder are left from a
	// crash (a backup in progress rewrites its temp file continuously).
	staleTemp = time.Hour
	// scheduledTimeFormat is the time in a scheduled backup's name.
	scheduledTimeFormat = "20060102T150405Z"
)

// BackupStatus is the state of this workstation's backups and restore
// drills: what `ward backup status` and the admin screen show, and what the
// 164.312 evidence report reads (LastDrill is the last restore drill).
type BackupStatus struct {
	Now        time.Time
	Folder     string // "" = scheduled backups are off
	Interval   time.Duration
	Keep       int
	DrillEvery time.Duration
	LastGood   *store.BackupRun // newest successful backup, scheduled or not
	LastTry    *store.BackupRun // newest backup attempt
	LastDrill  *store.BackupRun // newest restore drill
	InFolder   []string         // this workstation's scheduled backups in the folder, newest first
}

// Problems are what an administrator should act on, as sentences; none
// means backups are healthy.
func (st BackupStatus) Problems() []string {
	var p []string
	if st.Folder == "" {
		p = append(p, "scheduled backups are OFF: an administrator sets a folder on another disk with "+
			"`ward settings set "+SettingBackupFolder+" /path/to/folder`")
	}
	switch {
	case st.LastGood == nil:
		p = append(p, "this workstation has no good backup yet: make one with `ward backup --out FILE`")
	case st.Now.Sub(st.LastGood.At) > 2*st.Interval:
		p = append(p, fmt.Sprintf("the last good backup is %s old, and backups are due every %s", roughly(st.Now.Sub(st.LastGood.At)), roughly(st.Interval)))
	}
	if st.LastTry != nil && !st.LastTry.OK {
		p = append(p, fmt.Sprintf("the last backup attempt (%s) FAILED: %s", st.LastTry.At.Format(time.RFC3339), st.LastTry.Detail))
	}
	switch {
	case st.LastDrill == nil && st.LastGood != nil:
		p = append(p, "no restore drill has been run yet: run `ward backup verify FILE`")
	case st.LastDrill == nil:
	case !st.LastDrill.OK:
		p = append(p, fmt.Sprintf("the last restore drill (%s) FAILED: %s", st.LastDrill.At.Format(time.RFC3339), st.LastDrill.Detail))
	case st.Now.Sub(st.LastDrill.At) > 2*st.DrillEvery:
		p = append(p, fmt.Sprintf("the last restore drill is %s old, and drills are due every %s", roughly(st.Now.Sub(st.LastDrill.At)), roughly(st.DrillEvery)))
	}
	return p
}

// roughly says a duration the way a person would.
func roughly(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	case d >= time.Hour:
		return "1 hour"
	}
	return fmt.Sprintf("%d minutes", int(d/time.Minute))
}

// BackupStatus reads the schedule and the newest backups and drills. It
// holds no patient data; the evidence report and the schedule read it
// without a session.
func (c *Clinic) BackupStatus(ctx context.Context) (BackupStatus, error) {
	var st BackupStatus
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		st, err = readBackupStatus(tx, c.now())
		return err
	})
	if err == nil {
		st.InFolder = c.scheduledBackups(st.Folder)
	}
	return st, err
}

// LastRestoreDrill is the newest restore drill of this workstation, for the
// 164.312 evidence report; found is false when none has run.
func (c *Clinic) LastRestoreDrill(ctx context.Context) (run store.BackupRun, found bool, err error) {
	st, err := c.BackupStatus(ctx)
	if err != nil || st.LastDrill == nil {
		return run, false, err
	}
	return *st.LastDrill, true, nil
}

// BackupStatus is the same for a signed-in administrator or security
// officer, audited.
func (s *Session) BackupStatus(ctx context.Context) (BackupStatus, error) {
	var st BackupStatus
	err := s.Do(ctx, ActBackupStatus, "", func(tx *store.Tx, w *Work) error {
		var err error
		st, err = readBackupStatus(tx, s.clinic.now())
		w.Detail = "read backup status"
		return err
	})
	if err == nil {
		st.InFolder = s.clinic.scheduledBackups(st.Folder)
	}
	return st, err
}

func readBackupStatus(tx *store.Tx, now time.Time) (BackupStatus, error) {
	st := BackupStatus{Now: now}
	var err error
	if st.Folder, err = tx.Setting(SettingBackupFolder, ""); err != nil {
		return st, err
	}
	hours, err := boundedSetting(tx, SettingBackupInterval, defaultBackupHours)
	if err != nil {
		return st, err
	}
	if st.Keep, err = boundedSetting(tx, SettingBackupKeep, defaultBackupKeep); err != nil {
		return st, err
	}
	days, err := boundedSetting(tx, SettingDrillInterval, defaultDrillDays)
	if err != nil {
		return st, err
	}
	st.Interval, st.DrillEvery = time.Duration(hours)*time.Hour, time.Duration(days)*24*time.Hour
	for _, q := range []struct {
		dst    **store.BackupRun
		kind   string
		okOnly bool
	}{{&st.LastGood, store.RunBackup, true}, {&st.LastTry, store.RunBackup, false}, {&st.LastDrill, store.RunDrill, false}} {
		r, found, err := tx.LastBackupRun(q.kind, q.okOnly)
		if err != nil {
			return st, err
		}
		if found {
			*q.dst = &r
		}
	}
	return st, nil
}

// boundedSetting is an integer setting, or its default when the stored value
// is outside the bounds ValidateSetting allows (a value from an older Ward).
func boundedSetting(tx *store.Tx, key string, def int) (int, error) {
	n, err := intSetting(tx, key, def)
	if err != nil || ValidateSetting(key, fmt.Sprint(n)) != nil {
		return def, err
	}
	return n, nil
}

// scheduledName is the file of a scheduled backup made at t.
func scheduledName(folder, node string, t time.Time) string {
	return filepath.Join(folder, "ward-"+node+"-"+t.UTC().Format(scheduledTimeFormat)+store.BackupExt)
}

// scheduledBackups lists this workstation's scheduled backups in folder,
// newest first. Files of other workstations and of people are not its own.
func (c *Clinic) scheduledBackups(folder string) []string {
	if folder == "" {
		return nil
	}
	entries, _ := os.ReadDir(folder)
	prefix := "ward-" + c.Node().ID + "-"
	var names []string
	for _, e := range entries {
		stamp, ok := strings.CutPrefix(e.Name(), prefix)
		if stamp, ok2 := strings.CutSuffix(stamp, store.BackupExt); ok && ok2 && e.Type().IsRegular() {
			if _, err := time.Parse(scheduledTimeFormat, stamp); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names))) // the time in the name sorts
	for i, n := range names {
		names[i] = filepath.Join(folder, n)
	}
	return names
}

// scheduledTime is when the scheduled backup at path was made.
func scheduledTime(path string) time.Time {
	base := strings.TrimSuffix(filepath.Base(path), store.BackupExt)
	t, _ := time.Parse(scheduledTimeFormat, base[strings.LastIndexByte(base, '-')+1:])
	return t
}

// rotate removes this workstation's scheduled backups beyond the newest
// keep, and temp files a crash left; it returns how many backups it removed.
func (c *Clinic) rotate(folder string, keep int) (removed int, err error) {
	files := c.scheduledBackups(folder)
	for _, f := range files[min(keep, len(files)):] {
		if err := os.Remove(f); err != nil {
			return removed, fmt.Errorf("cannot remove the old backup %s: %w", f, err)
		}
		removed++
	}
	stale, _ := filepath.Glob(filepath.Join(folder, ".ward-"+c.Node().ID+"-*"+store.BackupExt+".tmp-*"))
	for _, f := range stale {
		if st, err := os.Stat(f); err == nil && time.Since(st.ModTime()) > staleTemp {
			os.Remove(f)
		}
	}
	return removed, nil
}

// backupDue: no scheduled backup is newer than the interval, and the last
// scheduled attempt did not fail moments ago.
func (st BackupStatus) backupDue() bool {
	if st.Folder == "" {
		return false
	}
	if t := st.LastTry; t != nil && !t.OK && t.User == SystemUser && st.Now.Before(t.At.Add(retryAfter)) {
		return false
	}
	for _, f := range st.InFolder {
		if t := scheduledTime(f); !t.After(st.Now) { // a file from the future (a clock set back) does not count
			return !st.Now.Before(t.Add(st.Interval))
		}
	}
	return true
}

// drillDue: the newest backup should be drilled now — none was, the last
// drill is older than the drill interval, or it failed and there is a newer
// backup to try.
func (st BackupStatus) drillDue(newest string) bool {
	d := st.LastDrill
	return d == nil || !st.Now.Before(d.At.Add(st.DrillEvery)) || (!d.OK && d.File != newest)
}

// RunDueBackups makes the scheduled backup and the restore drill that are
// due now, if any, and reports each through events (which may be nil). It
// returns false when one failed (failures are also recorded and audited).
func (c *Clinic) RunDueBackups(ctx context.Context, events func(Event)) bool {
	emit := func(failed bool, format string, a ...any) {
		if events != nil {
			events(Event{At: c.now(), Job: JobBackups, Text: fmt.Sprintf(format, a...), Failed: failed})
		}
	}
	st, err := c.BackupStatus(ctx)
	if err != nil {
		emit(true, "cannot read the backup schedule: %v", err)
		return false
	}
	ok := true
	if st.backupDue() {
		path := scheduledName(st.Folder, c.Node().ID, st.Now)
		res, err := c.backup(ctx, SystemUser, path, nil)
		if err != nil && ctx.Err() != nil {
			return ok // stopped, not failed
		}
		if err != nil {
			emit(true, "scheduled backup FAILED (it will be tried again in %s): %v", roughly(retryAfter), err)
			ok = false
		} else {
			removed, rerr := c.rotate(st.Folder, st.Keep)
			st.InFolder = c.scheduledBackups(st.Folder)
			emit(false, "backup written: %s (%s, %.1f s); %d old backups removed, %d kept",
				path, megabytes(res.Bytes), res.Took.Seconds(), removed, len(st.InFolder))
			if rerr != nil {
				emit(true, "%v", rerr)
				ok = false
			}
		}
	}
	if len(st.InFolder) > 0 && st.drillDue(st.InFolder[0]) {
		rep, err := c.drill(ctx, SystemUser, st.InFolder[0], nil)
		switch {
		case err != nil && ctx.Err() != nil: // stopped, not failed
		case err != nil:
			emit(true, "restore drill of %s FAILED: %v", st.InFolder[0], err)
			ok = false
		case !rep.OK():
			emit(true, "%s", rep.Summary())
			ok = false
		default:
			emit(false, "%s (%.1f s)", rep.Summary(), rep.Took.Seconds())
		}
	}
	return ok
}

// RunScheduled runs this workstation's scheduled backups and restore drills
// until ctx ends: the GUI runs it while it is open, `ward serve` headless.
// Settings changes take effect within a minute.
func (c *Clinic) RunScheduled(ctx context.Context, events func(Event)) error {
	for {
		c.RunDueBackups(ctx, events)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(scheduleTick):
		}
	}
}

// megabytes says a size the way a person reads it.
func megabytes(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
