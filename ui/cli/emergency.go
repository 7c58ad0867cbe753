package cli

import (
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"ward/app"
	"ward/emergency"
)

// emergencyUsage is the part of `ward help` for emergency access.
const emergencyUsage = `  emergency grant --patient ID --reason CODE [--text T]   break-glass: open a chart you are denied
                           (CODE: emergency-treatment, patient-unconscious, covering-clinician, other + --text)
  emergency end GRANT      end your emergency access before it expires
  emergency review [--all] the review queue; review one: --grant G --disposition appropriate|not-appropriate --note N
  emergency open --kit FILE [--data DIR] [search QUERY | chart ID]
                           read-only access with the recovery code when the keyring or workstation is lost:
                           the window, or one search or chart printed here; you are asked for your name
`

// The break-glass, review and kit subcommands of `ward emergency`
// (dispatched by cmdEmergency in downtime.go).
func init() {
	emergencyCommands["grant"] = (*env).cmdEmergencyGrant
	emergencyCommands["end"] = (*env).cmdEmergencyEnd
	emergencyCommands["review"] = (*env).cmdEmergencyReview
	emergencyCommands["open"] = (*env).cmdEmergencyOpen
}

func (e *env) cmdEmergencyGrant(args []string) error {
	fs := flag.NewFlagSet("emergency grant", flag.ContinueOnError)
	patient := fs.String("patient", "", "")
	reason := fs.String("reason", "", "")
	text := fs.String("text", "", "")
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *patient == "" || *reason == "" {
		return usagef("emergency grant needs --patient ID and --reason CODE")
	}
	return e.withSession(func(s *app.Session) error {
		g, err := s.BreakGlass(e.ctx, *patient, *reason, *text)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Emergency access granted until %s (%s), grant id %s.\n", g.Expires.Local().Format("15:04"),
			emergency.ReasonLabel(g.Reason), g.ID)
		fmt.Fprintln(e.stdout, "Everything you open under it is recorded with the grant, and a security officer will review it.")
		fmt.Fprintf(e.stdout, "End it when you are done: ward --user %s emergency end %s\n", e.user, g.ID)
		return nil
	})
}

func (e *env) cmdEmergencyEnd(args []string) error {
	pos, err := e.parseFlags(flag.NewFlagSet("emergency end", flag.ContinueOnError), args, 1)
	if err != nil {
		return err
	}
	return e.withSession(func(s *app.Session) error {
		g, err := s.EndGrant(e.ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Emergency access %s ended at %s.\n", g.ID, g.Ended.Local().Format("15:04"))
		return nil
	})
}

func (e *env) cmdEmergencyReview(args []string) error {
	fs := flag.NewFlagSet("emergency review", flag.ContinueOnError)
	grant := fs.String("grant", "", "")
	disposition := fs.String("disposition", "", "")
	note := fs.String("note", "", "")
	all := fs.Bool("all", false, "")
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *grant == "" && (*disposition != "" || *note != "") {
		return usagef("emergency review: say which grant with --grant G")
	}
	return e.withSession(func(s *app.Session) error {
		if *grant != "" {
			g, err := s.ReviewGrant(e.ctx, *grant, *disposition, *note)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Grant %s reviewed: %s.\n", g.ID, g.Review.Disposition)
			return nil
		}
		gs, err := s.EmergencyGrants(e.ctx, app.GrantFilter{Unreviewed: !*all})
		if err != nil {
			return err
		}
		if len(gs) == 0 {
			fmt.Fprintln(e.stdout, "No emergency access waits for review.")
			return nil
		}
		printGrants(e, gs)
		return nil
	})
}

// printGrants is the review queue as a table, the overdue flagged.
func printGrants(e *env, gs []app.GrantView) {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tBY\tPATIENT\tREASON\tSTATE\tREVIEW\tGRANT")
	for _, g := range gs {
		reason := emergency.ReasonLabel(g.Reason)
		if g.ReasonText != "" {
			reason += ": " + oneLine(g.ReasonText)
		}
		review := "pending"
		switch {
		case g.Review != nil:
			review = g.Review.Disposition + " (" + g.Reviewer + ")"
		case g.Overdue:
			review = "OVERDUE"
		}
		state := string(g.State)
		if g.State == emergency.Running {
			state += fmt.Sprintf(" (%d min left)", int(g.TimeLeft.Round(time.Minute)/time.Minute))
		}
		fmt.Fprintf(tw, "%s\t%s (%s)\t%s\t%s\t%s\t%s\t%s\n", g.Started.Local().Format("2006-01-02 15:04"), g.Holder, g.HolderLogin,
			g.Patient, reason, state, review, g.ID)
	}
	tw.Flush()
}

// OpenKitWindow opens the read-only window on a clinic opened with the
// emergency kit; main sets it (the GUI package).
var OpenKitWindow func(c *app.Clinic, s *app.Session) error

// cmdEmergencyOpen is `ward emergency open`: the recovery code and the
// name of the person at the keyboard, then the read-only window, or one
// search or chart printed on the terminal (for a machine with no screen).
func (e *env) cmdEmergencyOpen(args []string) error {
	pos, err := e.parseFlags(flag.NewFlagSet("emergency open", flag.ContinueOnError), args, -2)
	if err != nil {
		return err
	}
	if e.kitPath == "" {
		return usagef("emergency open needs the kit: ward emergency open --kit FILE --data DIR")
	}
	var what, arg string
	if len(pos) > 0 {
		if len(pos) != 2 || (pos[0] != "search" && pos[0] != "chart") {
			return usagef("emergency open: after the flags, either nothing (the window), search QUERY, or chart ID")
		}
		what, arg = pos[0], pos[1]
	}
	code, err := e.secret("Recovery code")
	if err != nil {
		return err
	}
	person, err := e.line("Your full name (everything you open is recorded under it)")
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "Opening the emergency kit (this takes a few seconds)…")
	c, s, err := app.OpenEmergencyKit(e.ctx, e.dataDir, e.kitPath, code, person, e.keyring)
	if err != nil {
		return err
	}
	defer c.Close()
	defer s.SignOut(e.ctx)
	fmt.Fprintln(e.stderr, "READ-ONLY: opened with the emergency kit. Nothing can be changed; every record you open is recorded under your name.")
	switch what {
	case "search":
		ps, err := s.SearchPatients(e.ctx, arg, 20)
		if err != nil {
			return err
		}
		printPatients(e, ps)
		return nil
	case "chart":
		ch, err := s.Chart(e.ctx, arg)
		if err != nil {
			return err
		}
		printChart(e.stdout, ch)
		return nil
	}
	if OpenKitWindow == nil {
		return errors.New("this build of Ward has no window: use `ward emergency open --kit FILE search QUERY` or `chart ID`")
	}
	return OpenKitWindow(c, s)
}
