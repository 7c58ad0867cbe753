package gui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ward/emergency"
)

// The Audit tab's "164.312 evidence report…" (security officers and
// administrators): a file-save dialog, then the report made with progress,
// saved as HTML (to print from a browser) and JSON side by side, and what
// it found in words under the tools.

// saveComplianceReport asks where the report goes, then makes it.
func (v *auditView) saveComplianceReport() {
	v.u.askSavePath("ward-evidence-164312-"+time.Now().Format("20060102")+".html", "", v.runComplianceReport, nil)
}

// runComplianceReport makes the report and saves it for chosen, the file
// the dialog created (empty): it becomes the HTML, or is removed when the
// report lands under other names or not at all.
func (v *auditView) runComplianceReport(chosen string) {
	var rep emergency.Report
	var htmlPath, jsonPath string
	v.u.longTask("Making the 164.312 evidence report", func(ctx context.Context, _ func(done, total uint64)) error {
		var err error
		if rep, err = v.s.ComplianceReport(ctx); err != nil {
			return err
		}
		htmlPath, jsonPath, err = emergency.SaveReport(rep, chosen)
		return err
	}, func(err error) {
		if st, serr := os.Stat(chosen); serr == nil && st.Size() == 0 && chosen != htmlPath && chosen != jsonPath {
			os.Remove(chosen)
		}
		switch {
		case errors.Is(err, context.Canceled):
			showOutcome(v.result, "The evidence report was cancelled: no file was written.", true)
		case err != nil:
			showOutcome(v.result, sentence(err), true)
		default:
			showOutcome(v.result, complianceText(rep, htmlPath, jsonPath), rep.Counts.Fail > 0)
		}
	})
}

// complianceText sums up a report: the counts, where it is, and each check
// that did not pass with what to do.
func complianceText(r emergency.Report, htmlPath, jsonPath string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Evidence report (164.312): %s. Saved as %s (open it in a web browser to print it) and, for machines, %s.",
		r.Summary(), htmlPath, filepath.Base(jsonPath))
	for _, s := range r.Standards {
		for _, c := range s.Checks {
			if c.Status != emergency.Pass {
				fmt.Fprintf(&b, "\n%s — %s %s: %s", strings.ToUpper(string(c.Status)), s.Ref, c.Name, c.Action)
			}
		}
	}
	return b.String()
}
