package cli

import (
	"flag"
	"fmt"
	"sort"
	"strings"
	"time"

	"ward/app"
)

const downtimeUsage = `  init | demo | rekey | restore | sync join … --kit-sheet FILE
                           also write the emergency kit sheet (a PDF with the new recovery code) to print for the safe
  emergency downtime --out FILE [--day YYYY-MM-DD] [--clinician USER]
                           a PDF of the day's patients (allergies, medications, problems, last note) for working on paper
`

// emergencyCommands are the `ward emergency` subcommands. Each lives in its
// own file and adds itself here (in an init), so the files stay apart.
var emergencyCommands = map[string]func(e *env, args []string) error{
	"downtime": (*env).cmdDowntime,
}

// cmdEmergency is `ward emergency SUBCOMMAND`.
func (e *env) cmdEmergency(args []string) error {
	var names []string
	for n := range emergencyCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 {
		return usagef("emergency needs a subcommand: %s", strings.Join(names, ", "))
	}
	cmd, ok := emergencyCommands[args[0]]
	if !ok {
		return usagef("unknown emergency subcommand %q; they are %s", args[0], strings.Join(names, ", "))
	}
	return cmd(e, args[1:])
}

// ward --user U emergency downtime [--day D] [--clinician U] --out FILE
func (e *env) cmdDowntime(args []string) error {
	fs := flag.NewFlagSet("emergency downtime", flag.ContinueOnError)
	out := fs.String("out", "", "")
	dayText := fs.String("day", "", "")
	clinician := fs.String("clinician", "", "")
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *out == "" {
		return usagef("emergency downtime needs --out FILE (where to write the PDF)")
	}
	day := time.Now()
	if *dayText != "" {
		var err error
		if day, err = time.ParseInLocation("2006-01-02", *dayText, time.Local); err != nil {
			return usagef("emergency downtime --day: write the day as YYYY-MM-DD, for example 2026-11-24")
		}
	}
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.Local)
	return e.withSession(func(s *app.Session) error {
		pdf, err := s.DowntimeSummary(e.ctx, day, *clinician)
		if err != nil {
			return err
		}
		if err := app.WritePrivateFile(*out, pdf); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Downtime summary for %s written to %s (readable only by you).\n", day.Format("2006-01-02"), *out)
		fmt.Fprintln(e.stdout, "It holds patient information on purpose, to work on paper during an outage: print it, "+
			"keep the paper with you, and shred it and delete the file when Ward is back. Printing it is recorded in the audit log.")
		return nil
	})
}
