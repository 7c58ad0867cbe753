package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	sqlite3 "github.com/mutecomm/go-sqlcipher/v4"

	"ward/store/audit"
)

// BackupOptions describe a backup to write.
type BackupOptions struct {
	Clinic string
	// Kit is the workstation's current emergency kit; the backup carries it
	// so that the recovery code alone restores the backup anywhere.
	Kit *Kit
	// Progress, if not nil, is told how many bytes of the encrypted copy are
	// written, of about total. Called from another goroutine, never twice at once.
	Progress func(done, total int64)
}

// ExportBackup writes a backup of the open database to path (ward-backup/v1).
//
// The copy is consistent and online: it is read in one read transaction (a
// WAL snapshot) while the workstation keeps writing, and the audit chain
// heads in the header are read in that same transaction. It is never plain:
// SQLite's backup API copies it page by page into a database encrypted with
// a fresh random backup key, in a temp file beside path; the backup file is
// then written under another temp name, synced and renamed. An existing file
// at path is never replaced.
func (db *DB) ExportBackup(ctx context.Context, path string, o BackupOptions) (BackupHeader, error) {
	var h BackupHeader
	if o.Kit == nil || o.Kit.Node != db.self.ID {
		return h, errors.New("the emergency kit given for the backup is not this workstation's: " +
			"a backup must carry the current kit (ward.kit) so that the recovery code restores it")
	}
	if _, err := os.Lstat(path); err == nil {
		return h, fmt.Errorf("%s already exists: a backup never replaces a file; choose another name", path)
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return h, fmt.Errorf("the backup folder %s does not exist or cannot be read: create it, or choose another folder", dir)
	}
	backupKey, err := NewKey()
	if err != nil {
		return h, err
	}
	defer zero(backupKey)
	tmp, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return h, fmt.Errorf("cannot write in the backup folder %s: %w", dir, err)
	}
	copyPath := tmp.Name()
	tmp.Close()
	defer os.Remove(copyPath)

	if err := db.exportCopy(ctx, copyPath, backupKey, &h, o.Progress); err != nil {
		return h, err
	}
	if h.BodySize, h.BodySHA256, err = sizeAndSum(copyPath); err != nil {
		return h, err
	}
	h.Clinic, h.Node, h.Created, h.Kit = oneLine(o.Clinic), db.self.ID, time.Now().UTC(), o.Kit
	dbKey := db.conn.keyCopy()
	if dbKey == nil {
		return h, errors.New("the database was closed during the backup")
	}
	err = h.seal(dbKey, backupKey)
	zero(dbKey)
	if err != nil {
		return h, err
	}
	err = writeFileAtomicFunc(path, 0o600, func(f *os.File) error {
		if _, err := f.Write(h.marshal()); err != nil {
			return err
		}
		src, err := os.Open(copyPath)
		if err != nil {
			return err
		}
		defer src.Close()
		n, err := io.Copy(f, src)
		if err == nil && n != h.BodySize {
			err = errors.New("the encrypted copy changed while the backup file was written")
		}
		return err
	})
	if err != nil {
		return h, fmt.Errorf("cannot write the backup file %s: %w", path, err)
	}
	return h, nil
}

// exportCopy copies the database into the empty file path, encrypted with
// key, and fills in h's schema and chain heads as of the copy.
func (db *DB) exportCopy(ctx context.Context, path string, key []byte, h *BackupHeader, progress func(done, total int64)) error {
	return db.copyPages(ctx, path, key, func(q audit.DBTX) error {
		var err error
		if h.Chains, err = audit.Heads(ctx, q); err != nil {
			return err
		}
		return q.QueryRowContext(ctx, "PRAGMA main.user_version").Scan(&h.Schema)
	}, progress)
}

// CopyTo writes a copy of the open database as the database of the folder
// dir, encrypted with key, synced to disk: how a restore puts a verified
// backup under a new key (one pass and no journal, where Rekey rewrites the
// file in place through a rollback journal).
func (db *DB) CopyTo(ctx context.Context, dir string, key []byte) error {
	if Exists(dir) {
		return ErrDatabaseExists
	}
	path := DBPath(dir)
	err := db.copyPages(ctx, path, key, nil, nil)
	if err == nil {
		err = syncFile(path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing the database under its new key failed: %w", friendlyWriteError(err))
	}
	return nil
}

// Options of the connection that writes a copy: it is a new file nobody
// else sees until it is whole, so no journal and no syncs (the caller syncs).
const copyOptions = "_journal_mode=OFF&_synchronous=OFF"

// copyStepPages: pages copied per backup step (4 MiB), between which
// progress is reported and cancellation noticed.
const copyStepPages = 1024

// copyPages copies the open database page by page into the new file path,
// encrypted with key, with SQLite's backup API: SQLCipher decrypts (and
// authenticates) each page read here and encrypts it under key for the copy
// — it is never plain, not even in a temp file. The copy is one moment: it
// runs in one read transaction (a WAL snapshot) while others keep writing,
// and inTx, if not nil, runs first inside that transaction to read what
// must be of the same moment.
func (db *DB) copyPages(ctx context.Context, path string, key []byte, inTx func(q audit.DBTX) error, progress func(done, total int64)) error {
	// A pool of its own with one connection, so the open transaction never
	// reaches a connection that others reuse.
	one := sql.OpenDB(db.conn)
	defer one.Close()
	one.SetMaxOpenConns(1)
	src, err := one.Conn(ctx)
	if err != nil {
		return err
	}
	defer src.Close()
	if _, err := src.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	if inTx == nil {
		inTx = func(q audit.DBTX) error { // any read starts the snapshot
			var n int
			return q.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n)
		}
	}
	if err := inTx(src); err != nil {
		return err
	}
	dc, err := wardDriver.Open(keyedDSN(path, key, copyOptions))
	if err != nil {
		return fmt.Errorf("cannot create the encrypted copy: %w", err)
	}
	defer dc.Close()
	dst := dc.(*sqlite3.SQLiteConn)
	return src.Raw(func(c any) error {
		b, err := dst.Backup("main", c.(*sqlite3.SQLiteConn), "main")
		if err != nil {
			return fmt.Errorf("cannot start the encrypted copy: %w", err)
		}
		for {
			done, err := b.Step(copyStepPages)
			if progress != nil {
				n := int64(b.PageCount())
				progress((n-int64(b.Remaining()))*pageSize, n*pageSize)
			}
			if err == nil && !done {
				err = ctx.Err()
			}
			if err != nil || done {
				if cerr := b.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return fmt.Errorf("copying the database failed: %w", friendlyWriteError(err))
				}
				return nil
			}
		}
	})
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func sizeAndSum(path string) (int64, [32]byte, error) {
	var sum [32]byte
	f, err := os.Open(path)
	if err != nil {
		return 0, sum, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, sum, err
	}
	if n < pageSize || n%pageSize != 0 {
		return 0, sum, fmt.Errorf("the encrypted copy is %d bytes, not whole database pages: the backup failed", n)
	}
	copy(sum[:], h.Sum(nil))
	return n, sum, nil
}
