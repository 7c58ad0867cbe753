package cli

import (
	"os"
	"os/exec"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// paperCmds are the testscript commands of papers.txtar: what a PDF says
// (read by poppler's pdftotext, as a viewer would show it) and who may
// read the file.
var paperCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"pdf-text": pdfText,
	"private":  private,
	"has-code": hasCode,
}

// pdf-text PDF TXT: the PDF's text, its runs of white space made single
// spaces, in TXT (for grep).
func pdfText(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: pdf-text PDF TXT")
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", ts.MkAbs(args[0]), "-").CombinedOutput()
	if err != nil {
		ts.Fatalf("pdftotext (poppler-utils, make deps-test): %v: %s", err, out)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(strings.Join(strings.Fields(string(out)), " ")+"\n"), 0o600))
}

// private FILE: only its owner may read or write it (0600).
func private(ts *testscript.TestScript, neg bool, args []string) {
	st, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if got := st.Mode().Perm(); (got == 0o600) == neg {
		ts.Fatalf("%s has mode %v", args[0], got)
	}
}

// has-code TXT CODEFILE: the recovery code in CODEFILE (grab-code) is in
// TXT, its groups in order.
func hasCode(ts *testscript.TestScript, neg bool, args []string) {
	code := strings.TrimSpace(ts.ReadFile(args[1]))
	want := strings.Join(strings.Split(code, "-"), " ")
	if strings.Contains(ts.ReadFile(args[0]), want) == neg {
		ts.Fatalf("%s: code %s present: %v", args[0], code, !neg)
	}
}
