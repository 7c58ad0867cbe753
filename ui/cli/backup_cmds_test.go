package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// backupCmds are the testscript commands of backup.txtar: the damage a
// backup file meets on its way (a copy cut short, a flipped bit), and a look
// at every file of a folder for what must never be there in plain text.
var backupCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"cut-file":     cutFile,
	"flip-byte":    flipByte,
	"wait-file":    waitFile,
	"no-plaintext": noPlaintext,
}

// cut-file SRC DST N: DST is SRC without its last N bytes.
func cutFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: cut-file SRC DST N")
	}
	data := []byte(ts.ReadFile(args[0]))
	n, err := strconv.Atoi(args[2])
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), data[:len(data)-n], 0o600))
}

// flip-byte SRC DST N: DST is SRC with the Nth byte from the end inverted.
func flipByte(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: flip-byte SRC DST N")
	}
	data := []byte(ts.ReadFile(args[0]))
	n, err := strconv.Atoi(args[2])
	ts.Check(err)
	data[len(data)-n] ^= 0xff
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), data, 0o600))
}

// wait-file GLOB: wait (up to a minute) until a file matches GLOB.
func waitFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: wait-file GLOB")
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m, _ := filepath.Glob(ts.MkAbs(args[0])); len(m) > 0 {
			return
		}
	}
	ts.Fatalf("no file matches %s after a minute", args[0])
}

// no-plaintext DIR TEXT...: no file under DIR contains any TEXT.
func noPlaintext(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: no-plaintext DIR TEXT...")
	}
	files := 0
	ts.Check(filepath.Walk(ts.MkAbs(args[0]), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range args[1:] {
			if bytes.Contains(data, []byte(s)) {
				ts.Fatalf("%s contains %q in plain text", path, s)
			}
		}
		return nil
	}))
	if files == 0 {
		ts.Fatalf("%s holds no files to look at", args[0])
	}
}
