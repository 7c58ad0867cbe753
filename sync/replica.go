package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	gosync "sync"
	"time"

	"ward/store"
)

// Replica is the segment layer of one workstation.
type Replica struct {
	db  *store.DB
	dir string

	// Now is the clock (tests set it); nil = time.Now.
	Now func() time.Time
	// MaxSegmentBytes caps the records of one segment before compression
	// (0 = DefaultMaxSegmentBytes): a large backlog becomes several
	// segments. One record larger than the cap travels alone.
	MaxSegmentBytes int

	// beforeCommit, when set (tests), runs inside an apply's transaction
	// just before it commits; an error from it rolls the segment back as a
	// crash would.
	beforeCommit func(origin string, segment uint64) error

	exportMu gosync.Mutex
	importMu gosync.Mutex
}

// DefaultMaxSegmentBytes is the size a segment's records are kept under.
const DefaultMaxSegmentBytes = 4 << 20

// New is the replica of the workstation whose database is db.
func New(db *store.DB) *Replica { return &Replica{db: db, dir: db.Dir()} }

// Folder names under the data folder (sync/node uses the same).
func replicaDir(dataDir string) string { return filepath.Join(dataDir, "replica") }

// OutboxDir is where a workstation writes its own segments.
func OutboxDir(dataDir string) string { return filepath.Join(replicaDir(dataDir), "out") }

// InboxDir is where a workstation finds the segments of peer node.
func InboxDir(dataDir, node string) string { return filepath.Join(replicaDir(dataDir), "in", node) }

// QuarantineDir is where refused segments are kept.
func QuarantineDir(dataDir string) string { return filepath.Join(replicaDir(dataDir), "quarantine") }

// Outbox is this workstation's outbox.
func (r *Replica) Outbox() string { return OutboxDir(r.dir) }

// Inbox is the folder of peer node's segments.
func (r *Replica) Inbox(node string) string { return InboxDir(r.dir, node) }

func (r *Replica) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Replica) maxBytes() int {
	if r.MaxSegmentBytes > 0 {
		return r.MaxSegmentBytes
	}
	return DefaultMaxSegmentBytes
}

// segmentFile is one <n>.wseg in a folder.
type segmentFile struct {
	n    uint64
	name string
}

// listSegments returns the segment files of dir by number; other names
// (temp files, Syncthing's .stfolder and .stignore) are skipped. A missing
// folder has none.
func listSegments(dir string) ([]segmentFile, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []segmentFile
	for _, e := range ents {
		if n, ok := parseFileName(e.Name()); ok && e.Type().IsRegular() {
			out = append(out, segmentFile{n, e.Name()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n < out[j].n })
	return out, nil
}

// TempPrefix starts the name of a file being written; Syncthing ignores
// such names (sync/node's .stignore).
const TempPrefix = ".tmp-"

// errExists: another writer put a file by that name first.
var errExists = errors.New("a segment by that name already exists")

// writeNew writes data as dir/name, whole or not at all, and never over an
// existing file: a temp name, fsync, a hard link to the final name (which
// fails if the name exists), fsync of the folder.
func writeNew(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, TempPrefix+name+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	final := filepath.Join(dir, name)
	if err := os.Link(tmp, final); err != nil {
		if errors.Is(err, os.ErrExist) {
			return errExists
		}
		// A file system without hard links: rename, after checking.
		if _, serr := os.Lstat(final); serr == nil {
			return errExists
		}
		if err := os.Rename(tmp, final); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// removeStaleTemps removes temp files a crash left in dir.
func removeStaleTemps(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if len(e.Name()) > len(TempPrefix) && e.Name()[:len(TempPrefix)] == TempPrefix {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// readSegmentFile reads a file, refusing one too large to be a segment.
func readSegmentFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxSegmentFile {
		return nil, formatErr("it is larger than %d MiB", MaxSegmentFile>>20)
	}
	return os.ReadFile(path)
}

// segmentKey is the segment sub-key of the clinic key.
func (r *Replica) segmentKey(ctx context.Context) ([]byte, error) {
	k, err := r.db.ClinicSubkey(ctx, store.SubkeySegment)
	if err != nil {
		return nil, fmt.Errorf("replica: %w", err)
	}
	return k, nil
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
