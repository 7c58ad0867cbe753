package cli

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"ward/emergency"
)

const complianceUsage = `  compliance report --out FILE     the 164.312 evidence report: FILE.html (printable) and FILE.json side by side (exit 1 if a check fails)
`

// ward --user U compliance report --out FILE
func (e *env) cmdCompliance(args []string) error {
	if len(args) == 0 || args[0] != "report" {
		return usagef("compliance needs a subcommand: report")
	}
	fs := flag.NewFlagSet("compliance report", flag.ContinueOnError)
	out := fs.String("out", "", "")
	if _, err := e.parseFlags(fs, args[1:], 0); err != nil {
		return err
	}
	if *out == "" {
		return usagef("compliance report needs --out FILE (FILE.html and FILE.json are written)")
	}
	htmlPath, jsonPath := emergency.ReportPaths(*out)
	// Before signing in: a report made and audited, then not written, helps nobody.
	if st, err := os.Stat(filepath.Dir(htmlPath)); err != nil || !st.IsDir() {
		return fmt.Errorf("the folder %s does not exist: give --out a file in a folder that does", filepath.Dir(htmlPath))
	}
	c, s, err := e.signIn()
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintln(e.stderr, "Reading the evidence: every audit chain and every database page is checked…")
	rep, err := s.ComplianceReport(e.ctx)
	if err != nil {
		return err
	}
	if _, _, err := emergency.SaveReport(rep, *out); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Evidence report (164.312): %s.\nWritten to %s and %s (readable by you only).\n", rep.Summary(), htmlPath, jsonPath)
	for _, st := range rep.Standards {
		for _, ch := range st.Checks {
			if ch.Status != emergency.Pass {
				fmt.Fprintf(e.stdout, "%s %s %s: %s\n", strings.ToUpper(string(ch.Status)), st.Ref, ch.Name, ch.Action)
			}
		}
	}
	if rep.Counts.Fail > 0 {
		return failedError{}
	}
	return nil
}
