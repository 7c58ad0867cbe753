package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"ward/app"
	"ward/store/audit"
)

func (e *env) cmdAudit(args []string) error {
	if len(args) == 0 {
		return usagef("audit needs a subcommand: verify, export or verify-export")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "verify":
		if _, err := e.parseFlags(flag.NewFlagSet("audit verify", flag.ContinueOnError), args, 0); err != nil {
			return err
		}
		c, s, err := e.signIn()
		if err != nil {
			return err
		}
		defer c.Close()
		rep, err := s.VerifyAudit(e.ctx, e.progress("Verifying audit chains"))
		if err != nil {
			return err
		}
		printAuditReport(e.stdout, rep)
		if rep.Problem != nil {
			return failedError{}
		}
		return nil
	case "export":
		return e.cmdAuditExport(args)
	case "verify-export":
		return e.cmdAuditVerifyExport(args)
	}
	return usagef("unknown audit subcommand %q (verify, export, verify-export)", sub)
}

func (e *env) cmdAuditExport(args []string) error {
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	format := fs.String("format", "", "")
	out := fs.String("out", "", "")
	from := fs.String("from", "", "")
	to := fs.String("to", "", "")
	var flt audit.Filter
	fs.StringVar(&flt.User, "user", "", "")
	fs.StringVar(&flt.Patient, "patient", "", "")
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	f := audit.Format(*format)
	if f != audit.JSONL && f != audit.CSV && f != audit.FHIR {
		return usagef("audit export needs --format jsonl, csv or fhir")
	}
	if *out == "" {
		return usagef("audit export needs --out FILE")
	}
	var err error
	if flt.From, err = parseTime(*from, false); err != nil {
		return err
	}
	if flt.To, err = parseTime(*to, true); err != nil {
		return err
	}
	c, s, err := e.signIn()
	if err != nil {
		return err
	}
	defer c.Close()
	man, err := s.ExportAudit(e.ctx, *out, f, flt)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Exported %d audit entries to %s\nManifest (signed by workstation %s, key %s): %s\n",
		man.Entries, *out, man.Exporter, audit.Fingerprint(man.ExporterKey), app.ManifestPath(*out))
	return nil
}

// parseTime reads --from/--to: a date (YYYY-MM-DD, local midnight; for --to
// the midnight after it, as the export's end is exclusive) or an RFC 3339 time.
func parseTime(s string, endOfDay bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse(time.RFC3339, s)
	if err != nil {
		if d, err = time.ParseInLocation("2006-01-02", s, time.Local); err != nil {
			return time.Time{}, usagef("%q is not a date (YYYY-MM-DD) or a time (2026-11-23T14:05:00Z)", s)
		}
		if endOfDay {
			d = d.AddDate(0, 0, 1)
		}
	}
	if d.Year() < 1970 || d.Year() > 2200 {
		return time.Time{}, usagef("%q is outside the years 1970 to 2200", s)
	}
	return d.UTC(), nil
}

func (e *env) cmdAuditVerifyExport(args []string) error {
	fs := flag.NewFlagSet("audit verify-export", flag.ContinueOnError)
	manifest := fs.String("manifest", "", "")
	trust := fs.String("trust-key", "", "")
	pos, err := e.parseFlags(fs, args, 1)
	if err != nil {
		return err
	}
	path := pos[0]
	if *manifest == "" {
		*manifest = app.ManifestPath(path)
	}
	ef, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read the export: %w", err)
	}
	defer ef.Close()
	mf, err := os.Open(*manifest)
	if err != nil {
		return fmt.Errorf("cannot read the export's manifest %s (it is written beside the export; give another with --manifest): %w", *manifest, err)
	}
	defer mf.Close()
	rep, err := audit.VerifyExport(ef, mf)
	if err != nil {
		return err
	}
	if !rep.OK() {
		for _, p := range rep.Problems {
			fmt.Fprintf(e.stdout, "NOT INTACT: %v\n", p)
		}
		if rep.MoreProblems > 0 {
			fmt.Fprintf(e.stdout, "… and %d more problems.\n", rep.MoreProblems)
		}
		return failedError{}
	}
	fmt.Fprintf(e.stdout, "Export intact: %d entries, %s format, signed by workstation %s with key %s.\n",
		rep.Entries, rep.Format, rep.Exporter, rep.ExporterFingerprint)
	if *trust != "" {
		if !strings.EqualFold(strings.TrimSpace(*trust), rep.ExporterFingerprint) {
			fmt.Fprintf(e.stdout, "NOT TRUSTED: the export is signed with key %s, not the key %s you trust.\n", rep.ExporterFingerprint, *trust)
			return failedError{}
		}
		fmt.Fprintln(e.stdout, "The signing key is the one you trust.")
	} else {
		fmt.Fprintln(e.stdout, "Compare the key with the one your clinic has on record (or pass --trust-key).")
	}
	return nil
}

func printAuditReport(w io.Writer, rep audit.Report) {
	for _, c := range rep.Chains {
		cp := "no checkpoint yet"
		if c.LastCheckpoint != nil {
			cp = fmt.Sprintf("last signed checkpoint at entry %d", c.LastCheckpoint.Seq)
		}
		fmt.Fprintf(w, "Audit chain %s: %d entries, head %x…, %s.\n", c.Node, c.Entries, c.Head[:6], cp)
	}
	if rep.Problem != nil {
		fmt.Fprintf(w, "Audit chain NOT INTACT: %v\n", rep.Problem)
		return
	}
	fmt.Fprintln(w, "Audit chains intact.")
}

// progress reports long work on stderr, at most a few times a second.
func (e *env) progress(what string) func(done, total uint64) {
	return e.progressf(what, func(done, total uint64) string { return fmt.Sprintf("%d of %d", done, total) })
}

// progressf is progress with the figures said by say.
func (e *env) progressf(what string, say func(done, total uint64) string) func(done, total uint64) {
	last := time.Time{}
	return func(done, total uint64) {
		if time.Since(last) < 200*time.Millisecond && done != total {
			return
		}
		last = time.Now()
		fmt.Fprintf(e.stderr, "\r%s: %s", what, say(done, total))
		if done == total {
			fmt.Fprintln(e.stderr)
		}
	}
}
