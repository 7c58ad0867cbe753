package cli

import (
	"bytes"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"ward/store"
)

// Commands for the pairing scripts (sync_pair.txtar).
var syncCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"free-listen": freeListen,
	"grab-invite": grabInvite,
	"await":       await,
	"keyring-tidy": func(ts *testscript.TestScript, neg bool, args []string) {
		// keyring-tidy DIR: remove DIR's keys from the keyring when the script ends, however it ends.
		dir := ts.MkAbs(args[0])
		ts.Defer(func() {
			acct, _ := store.KeyringAccount(dir)
			store.OSKeyring{}.Delete(acct)
			store.OSKeyring{}.Delete(store.PendingAccount(acct))
		})
	},
}

// free-listen VAR: set VAR to a port P of 127.0.0.1 such that P (the
// replica node) and P+1 (its pairing listener) are both free.
func freeListen(ts *testscript.TestScript, neg bool, args []string) {
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		port := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+1))
		l.Close()
		if err == nil {
			l2.Close()
			ts.Setenv(args[0], strconv.Itoa(port))
			return
		}
	}
	ts.Fatalf("no two free ports in a row")
}

var inviteRE = regexp.MustCompile(`\b[A-Z2-7]{5}(-[A-Z2-7]{1,5}){8,}\b`)

// grab-invite VAR: set VAR to the invite code on the last stdout.
func grabInvite(ts *testscript.TestScript, neg bool, args []string) {
	code := inviteRE.FindString(ts.ReadFile("stdout"))
	if code == "" {
		ts.Fatalf("no invite code on stdout")
	}
	ts.Setenv(args[0], code)
}

// await SECONDS STDIN-FILE|- REGEX WARD-ARGS...: run ward (in this process)
// until its standard output matches REGEX, for at most SECONDS.
func await(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 4 {
		ts.Fatalf("usage: await SECONDS STDIN-FILE|- REGEX WARD-ARGS...")
	}
	secs, err := strconv.Atoi(args[0])
	ts.Check(err)
	re := regexp.MustCompile(args[2])
	var in string
	if args[1] != "-" {
		in = ts.ReadFile(args[1])
	}
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	for {
		var out, errb bytes.Buffer
		Main(args[3:], strings.NewReader(in), &out, &errb)
		if re.Match(out.Bytes()) {
			ts.Logf("await: %q after %v", args[2], time.Duration(secs)*time.Second-time.Until(deadline))
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("await: %q never appeared in %d s; last stdout:\n%s\nstderr:\n%s", args[2], secs, out.String(), errb.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
}
