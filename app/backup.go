package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ward/store"
	"ward/store/audit"
)

// Backups (issue 7). A backup is an encrypted copy of this workstation's
// database that the recovery code alone restores anywhere (format and key
// wrapping: store/backup.go, docs/formats.md). A restore drill restores a
// backup into a temporary folder and checks it; a restore puts it in a data
// folder under a fresh key.

// BackupResult is what a backup wrote.
type BackupResult struct {
	Path   string
	Bytes  int64
	Took   time.Duration
	Header store.BackupHeader
}

// Backup writes a backup of the clinic to path (administrators and security
// officers). It runs outside any write transaction, so the workstation stays
// usable; the backup, failed or not, is audited and recorded afterwards.
func (s *Session) Backup(ctx context.Context, path string, progress func(done, total int64)) (BackupResult, error) {
	if err := s.active(ctx); err != nil {
		return BackupResult{}, err
	}
	if err := s.authorize(ctx, ActBackup, ""); err != nil {
		return BackupResult{}, err
	}
	return s.clinic.backup(ctx, s.user.ID, path, progress)
}

// backup writes the backup and records the attempt (a backup_runs row and an
// audit entry, in one transaction) whatever the outcome.
func (c *Clinic) backup(ctx context.Context, user, path string, progress func(done, total int64)) (BackupResult, error) {
	start := time.Now()
	res := BackupResult{Path: path}
	kit, err := store.ReadKitFile(c.KitPath())
	if err != nil {
		err = fmt.Errorf("a backup carries the emergency kit so that the recovery code restores it, and the kit of this data folder "+
			"cannot be read (%v): make a new kit with `ward rekey`", err)
	} else {
		res.Header, err = c.db.ExportBackup(ctx, path, store.BackupOptions{Clinic: c.name, Kit: kit, Progress: progress})
	}
	res.Took = time.Since(start)
	if err != nil && ctx.Err() != nil {
		return res, err // stopped (Ward is shutting down): nothing written, nothing failed
	}
	run := store.BackupRun{Kind: store.RunBackup, User: user, At: c.now(), Took: res.Took, OK: err == nil, File: path}
	if err == nil {
		res.Bytes = fileSize(path)
		run.Bytes = res.Bytes
		run.Detail = fmt.Sprintf("backup written: %s, %d bytes, %d audit chains", path, res.Bytes, len(res.Header.Chains))
	} else {
		run.Detail = "backup FAILED: " + errorDetail(err)
	}
	if rerr := c.recordRun(ctx, run, ActBackup); err == nil {
		err = rerr
	}
	return res, err
}

// recordRun records a backup or drill and its audit entry together, even
// when ctx ended while it was being recorded.
func (c *Clinic) recordRun(ctx context.Context, r store.BackupRun, act Action) error {
	outcome := audit.OutcomeSuccess
	if !r.OK {
		outcome = audit.OutcomeFailure
	}
	return c.db.Update(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		if err := tx.AddBackupRun(r); err != nil {
			return err
		}
		_, err := tx.Audit(audit.Event{User: r.User, Action: string(act), Outcome: outcome, Detail: r.Detail})
		return err
	})
}

// errorDetail is an error's sentence for a record: Ward's errors hold no
// patient data or key material (they name files, disks and steps).
func errorDetail(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 600 {
		s = strings.ToValidUTF8(s[:600], "") + "…"
	}
	return s
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// DrillReport is what a restore drill (or a restore) found in a backup.
type DrillReport struct {
	File      string
	Header    store.BackupHeader
	Took      time.Duration
	Integrity []string     // SQLite and SQLCipher checks; empty = sound
	Audit     audit.Report // the restored copy's chains
	Mismatch  []string     // where the copy differs from what its header promises
}

// OK tells whether the backup restores whole: sound pages, intact chains,
// and the chain heads its header names.
func (r DrillReport) OK() bool {
	return len(r.Integrity) == 0 && r.Audit.OK() && len(r.Mismatch) == 0
}

// Summary is one line for the audit entry and `ward backup status`.
func (r DrillReport) Summary() string {
	if r.OK() {
		var n uint64
		for _, c := range r.Audit.Chains {
			n += c.Entries
		}
		return fmt.Sprintf("restore drill of %s: ok (integrity and cipher checks clean; audit chains intact: %d, with %d entries; heads as in the header)",
			r.File, len(r.Audit.Chains), n)
	}
	var what []string
	if len(r.Integrity) > 0 {
		what = append(what, fmt.Sprintf("%d integrity problems (first: %s)", len(r.Integrity), r.Integrity[0]))
	}
	if r.Audit.Problem != nil {
		what = append(what, r.Audit.Problem.Error())
	}
	what = append(what, r.Mismatch...)
	return "restore drill of " + r.File + " FAILED: " + strings.Join(what, "; ")
}

// VerifyBackup is a restore drill with this workstation's key: the backup is
// restored into a temporary folder, checked (integrity_check,
// cipher_integrity_check, every audit chain, the heads against the header)
// and removed. The live data is never touched. Recorded and audited.
func (s *Session) VerifyBackup(ctx context.Context, path string, progress func(string)) (DrillReport, error) {
	if err := s.active(ctx); err != nil {
		return DrillReport{}, err
	}
	if err := s.authorize(ctx, ActBackupVerify, ""); err != nil {
		return DrillReport{}, err
	}
	return s.clinic.drill(ctx, s.user.ID, path, progress)
}

// drill runs a restore drill with the workstation's key and records it.
func (c *Clinic) drill(ctx context.Context, user, path string, progress func(string)) (DrillReport, error) {
	start := time.Now()
	rep, err := drillBackup(ctx, path, func(b *store.Backup) ([]byte, error) { return b.KeyFromDB(c.db) }, progress)
	if err != nil && ctx.Err() != nil {
		return rep, err // stopped, not failed
	}
	run := store.BackupRun{Kind: store.RunDrill, User: user, At: c.now(), Took: time.Since(start), OK: err == nil && rep.OK(),
		File: path, Bytes: fileSize(path), Detail: rep.Summary()}
	if err != nil {
		run.Detail = "restore drill of " + path + " FAILED: " + errorDetail(err)
	}
	if rerr := c.recordRun(ctx, run, ActBackupVerify); err == nil {
		err = rerr
	}
	return rep, err
}

// VerifyBackupWithCode is a restore drill on any machine, with the recovery
// code instead of a workstation's key: it proves that the backup restores
// with the code and nothing else. code is asked only once the file has
// passed its checks. No clinic is opened, so nothing is recorded.
func VerifyBackupWithCode(ctx context.Context, path string, code func() (string, error), progress func(string)) (DrillReport, error) {
	return drillBackup(ctx, path, func(b *store.Backup) ([]byte, error) {
		c, err := code()
		if err != nil {
			return nil, err
		}
		say(progress, "Opening the backup with the recovery code (a few seconds)")
		return b.KeyFromCode(c)
	}, progress)
}

// drillBackup checks the file, opens its key, restores it into a temporary
// folder, checks the copy, and removes the folder.
func drillBackup(ctx context.Context, path string, key func(*store.Backup) ([]byte, error), progress func(string)) (DrillReport, error) {
	start := time.Now()
	rep := DrillReport{File: path}
	b, err := checkedBackup(path, progress)
	if err != nil {
		return rep, err
	}
	rep.Header = b.Header
	k, err := key(b)
	if err != nil {
		return rep, err
	}
	defer wipe(k)
	tmp, err := os.MkdirTemp("", "ward-drill-*")
	if err != nil {
		return rep, fmt.Errorf("cannot make a temporary folder for the restore drill: %w", err)
	}
	defer os.RemoveAll(tmp)
	db, rep, err := restoreCopy(ctx, b, k, tmp, progress)
	if db != nil {
		db.Close()
	}
	rep.Took = time.Since(start)
	return rep, err
}

// checkedBackup opens a backup file and checks its length and checksum:
// everything that can be known before any key is tried.
func checkedBackup(path string, progress func(string)) (*store.Backup, error) {
	say(progress, "Checking the backup file")
	b, err := store.OpenBackup(path)
	if err != nil {
		return nil, err
	}
	if err := b.CheckBody(); err != nil {
		return nil, err
	}
	return b, nil
}

// restoreCopy writes the backup's database into the empty folder dir, opens
// it with the backup key and checks it. The database is returned open (to
// the restore, which goes on with it) unless opening failed.
func restoreCopy(ctx context.Context, b *store.Backup, key []byte, dir string, progress func(string)) (*store.DB, DrillReport, error) {
	rep := DrillReport{File: b.Path, Header: b.Header}
	say(progress, "Writing the backup's database")
	if err := b.WriteDatabase(dir); err != nil {
		return nil, rep, err
	}
	db, err := store.Open(ctx, dir, key)
	if err != nil {
		return nil, rep, fmt.Errorf("the backup's database does not open (%v): the backup is damaged; use another backup", err)
	}
	// SQLite's checks run on one connection, the chain verification on the
	// others: side by side.
	say(progress, "Checking the database (integrity and cipher checks) and verifying the audit chains")
	var ierr error
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		rep.Integrity, ierr = db.IntegrityProblems(ctx)
	}()
	copyClinic := &Clinic{db: db}
	rep.Audit, err = copyClinic.verifyChains(ctx, nil)
	<-checked
	if err == nil {
		err = ierr
	}
	if err != nil {
		return db, rep, err
	}
	rep.Mismatch = headMismatches(b.Header, db.Self().ID, rep.Audit)
	return db, rep, nil
}

// headMismatches compares the restored chains with the heads the header
// recorded when the backup was made: a copy that is whole has exactly them.
func headMismatches(h store.BackupHeader, self string, rep audit.Report) []string {
	var out []string
	if self != h.Node {
		out = append(out, fmt.Sprintf("the database is workstation %s's, the header says %s's", self, h.Node))
	}
	got := map[string]audit.ChainReport{}
	for _, c := range rep.Chains {
		if c.Entries > 0 {
			got[c.Node] = c
		}
	}
	for _, want := range h.Chains {
		c, ok := got[want.Node]
		delete(got, want.Node)
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("audit chain %s is missing", want.Node))
		case c.HeadSeq != want.Seq || c.Head != want.Hash:
			out = append(out, fmt.Sprintf("audit chain %s ends at entry %d, the header says %d", want.Node, c.HeadSeq, want.Seq))
		}
	}
	for n := range got {
		out = append(out, fmt.Sprintf("audit chain %s is not in the header", n))
	}
	return out
}

func say(progress func(string), step string) {
	if progress != nil {
		progress(step)
	}
}

// ErrRestoreOverLive is returned when the target folder already has a database.
var ErrRestoreOverLive = errors.New("this data folder already holds a Ward database: restore into an empty folder (--data DIR), " +
	"or add --force to replace it (the current database and kit are moved into a replaced-… folder inside it, " +
	"where they still open with their own recovery code)")

// RestoreOptions describe a restore.
type RestoreOptions struct {
	From  string // the backup file
	Dir   string // the data folder to restore into
	Force bool   // replace a database already in Dir (it is moved aside, not deleted)
	// Code asks for the recovery code; it is called only once the file has
	// passed its checks, so a damaged file is reported without the wait.
	Code     func() (string, error)
	Keyring  store.Keyring
	Progress func(step string)
}

// RestoreResult is a restored clinic, open.
type RestoreResult struct {
	Clinic   *Clinic
	Code     string // the NEW recovery code: shown once, like after `ward init`
	Drill    DrillReport
	Replaced string // where the database that was in Dir went (with Force)
}

// Restore puts a backup into a data folder: it checks the file, opens it
// with the recovery code, writes it into a staging folder inside Dir,
// verifies it (integrity, cipher, audit chains, heads), copies it under a
// fresh key with a new emergency kit, records the restore in its audit
// chain, and only then moves it into place. Until then Dir gains only the
// staging folder (removed on failure) and ward.kit.pending.
//
// The new key waits in the keyring's "rekey pending" entry and the new kit in
// ward.kit.pending until the database is in place: a restore cut short after
// that point is finished by the next Open, exactly as an interrupted rekey
// (and one cut short before it is discarded by the next Open of the database
// that was there).
func Restore(ctx context.Context, o RestoreOptions) (RestoreResult, error) {
	var res RestoreResult
	live := store.Exists(o.Dir)
	if live && !o.Force {
		return res, ErrRestoreOverLive
	}
	// The keyring will take the new key: find out now, not after the work.
	if probe, err := store.KeyringAccount(o.Dir); err != nil {
		return res, err
	} else if _, err := o.Keyring.Get(probe); errors.Is(err, store.ErrKeyringUnavailable) {
		return res, err
	}
	b, err := checkedBackup(o.From, o.Progress)
	if err != nil {
		return res, err
	}
	code, err := o.Code()
	if err != nil {
		return res, err
	}
	say(o.Progress, "Opening the backup with the recovery code (a few seconds)")
	key, err := b.KeyFromCode(code)
	if err != nil {
		return res, err
	}
	defer wipe(key)

	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return res, fmt.Errorf("cannot create the data folder: %w", err)
	}
	// Named once the folder exists: the account follows symlinks, as Open's does.
	account, err := store.KeyringAccount(o.Dir)
	if err != nil {
		return res, err
	}
	removeStaleStaging(o.Dir)
	// staging/backup/ward.db: the backup's database under the backup key,
	// checked; staging/ward.db: its copy under the new key, moved into place.
	staging, err := os.MkdirTemp(o.Dir, stagingPrefix+"*")
	if err != nil {
		return res, fmt.Errorf("cannot write in the data folder: %w", err)
	}
	defer os.RemoveAll(staging)
	checked := filepath.Join(staging, "backup")
	if err := os.Mkdir(checked, 0o700); err != nil {
		return res, err
	}
	db, rep, err := restoreCopy(ctx, b, key, checked, o.Progress)
	res.Drill = rep
	if err == nil && !rep.OK() {
		err = fmt.Errorf("the backup did not pass its checks, so nothing was restored (%s): use another backup", rep.Summary())
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		return res, err
	}
	say(o.Progress, "Writing the database under a new key")
	newCode, err := reencrypt(ctx, db, b, o.Keyring, account, staging, o.Dir)
	if err != nil {
		return res, err
	}
	if live {
		if res.Replaced, err = moveAside(o.Dir); err != nil {
			return res, err
		}
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		from := store.DBPath(staging) + suffix
		if _, err := os.Stat(from); err == nil || suffix == "" {
			if err := os.Rename(from, store.DBPath(o.Dir)+suffix); err != nil {
				return res, fmt.Errorf("cannot move the restored database into place: %w", err)
			}
		}
	}
	// Open finds the new key in the pending entry and the kit in
	// ward.kit.pending, and makes them the current ones.
	res.Clinic, err = Open(ctx, o.Dir, o.Keyring)
	if err != nil {
		return res, fmt.Errorf("the database was restored into %s but does not open: %w", o.Dir, err)
	}
	res.Code = newCode
	return res, nil
}

// reencrypt copies the checked backup (db, open under the backup key, closed
// here) into staging under a fresh key, records the restore in its chain,
// and leaves the new key in the keyring's pending entry and the new kit as
// ward.kit.pending in target. It returns the new recovery code.
func reencrypt(ctx context.Context, db *store.DB, b *store.Backup, kr store.Keyring, account, staging, target string) (string, error) {
	newKey, err := store.NewKey()
	if err != nil {
		db.Close()
		return "", err
	}
	defer wipe(newKey)
	code, err := store.NewRecoveryCode()
	if err != nil {
		db.Close()
		return "", err
	}
	name := b.Header.Clinic
	err = db.Update(ctx, func(tx *store.Tx) error {
		var err error
		name, err = tx.Setting(SettingClinicName, name)
		return err
	})
	if err != nil {
		db.Close()
		return "", err
	}
	// Sealing the kit (argon2id, ~1.5 s) and copying the pages (SQLite, one
	// core) run side by side.
	type sealed struct {
		kit *store.Kit
		err error
	}
	kitc := make(chan sealed, 1)
	go func() {
		k, err := store.SealKit(newKey, code, name, b.Header.Node)
		kitc <- sealed{k, err}
	}()
	err = db.CopyTo(ctx, staging, newKey)
	db.Close()
	k := <-kitc
	if err == nil {
		err = k.err
	}
	if err != nil {
		return "", err
	}
	restored, err := store.Open(ctx, staging, newKey)
	if err != nil {
		return "", fmt.Errorf("the restored database does not open under its new key: %w", err)
	}
	err = restored.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.Audit(audit.Event{User: EmergencyKitUser, Action: string(ActRestore), Outcome: audit.OutcomeSuccess,
			Detail: fmt.Sprintf("restored from a backup made %s on workstation %s; integrity, cipher and %d audit chains verified; "+
				"new database key and emergency kit", b.Header.Created.Format(time.RFC3339), b.Header.Node, len(b.Header.Chains))})
		return err
	})
	if cerr := restored.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	if err := kr.Set(store.PendingAccount(account), newKey); err != nil {
		return "", err
	}
	if err := store.WriteKitFile(filepath.Join(target, store.KitFileName)+".pending", k.kit); err != nil {
		kr.Delete(store.PendingAccount(account))
		return "", fmt.Errorf("cannot write the new emergency kit: %w", err)
	}
	return code, nil
}

// stagingPrefix names the folder inside the data folder where a restore
// builds the database before moving it into place.
const stagingPrefix = ".restore-"

// removeStaleStaging removes what an interrupted restore left (encrypted
// under a key that is gone).
func removeStaleStaging(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), stagingPrefix) {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// moveAside moves the database and kit in dir into dir/replaced-<time>/, and
// returns that folder. They still open together, with their own recovery code.
func moveAside(dir string) (string, error) {
	aside := filepath.Join(dir, "replaced-"+time.Now().UTC().Format("20060102T150405Z"))
	if err := os.Mkdir(aside, 0o700); err != nil {
		return "", fmt.Errorf("cannot move the current database aside: %w", err)
	}
	for _, name := range []string{store.DBFileName, store.DBFileName + "-wal", store.DBFileName + "-shm", store.KitFileName} {
		if err := os.Rename(filepath.Join(dir, name), filepath.Join(aside, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("cannot move the current database aside: %w", err)
		}
	}
	return aside, nil
}
