package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"ward/app"
	"ward/store"
)

// recordsUsage is the part of `ward help` for the record commands.
const recordsUsage = `  patient edit ID [--name N] [--dob D] [--mrn M] [--phone P] [--sex S] [--address A]
  patient merge --keep ID --duplicate ID
  appointment add --patient ID --clinician USERNAME --at "YYYY-MM-DD HH:MM" [--minutes 15] [--reason R]
  appointment list [--day YYYY-MM-DD] [--clinician USERNAME]
  appointment checkin|noshow|cancel|done ID
  note add --patient ID [--encounter ID] --text T      (--text - reads the rest of standard input)
  note edit ID --text T     note sign ID     note amend ID --text T     note list --patient ID
  allergy add --patient ID --substance S [--reaction R] [--severity mild|moderate|severe]
  allergy status ID active|inactive|resolved
  medication add --patient ID --name N [--dose D] [--route R] [--frequency F] [--started YYYY-MM-DD]
  medication stop ID [--on YYYY-MM-DD]
  problem add --patient ID --description D [--code C] [--onset YYYY[-MM[-DD]]]
  problem resolve ID [--on YYYY-MM-DD]     problem status ID active|inactive|resolved
  allergy|medication|problem list --patient ID [--all]
  chart ID                 history patient|appointment|encounter|note|allergy|medication|problem ID
`

// cmdRecords runs the clinic-record commands: appointments, notes,
// allergies, medications, problems, the chart, history, and patient edit
// and merge. handled is false for any other command.
func (e *env) cmdRecords(cmd string, args []string) (handled bool, err error) {
	switch cmd {
	case "appointment":
		return true, e.cmdAppointment(args)
	case "note":
		return true, e.cmdNote(args)
	case "allergy", "medication", "problem":
		return true, e.cmdChartList(cmd, args)
	case "chart":
		return true, e.cmdChart(args)
	case "history":
		return true, e.cmdHistory(args)
	case "patient":
		if len(args) > 0 && args[0] == "edit" {
			return true, e.cmdPatientEdit(args[1:])
		}
		if len(args) > 0 && args[0] == "merge" {
			return true, e.cmdPatientMerge(args[1:])
		}
	}
	return false, nil
}

// needSub returns a subcommand or a usage error listing the choices.
func needSub(cmd string, args []string, subs string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, usagef("%s needs a subcommand: %s", cmd, subs)
	}
	return args[0], args[1:], nil
}

// dateTimeLayouts are the ways an appointment time may be typed.
var dateTimeLayouts = []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05"}

func parseDateTime(s string) (time.Time, bool) {
	for _, l := range dateTimeLayouts {
		if t, err := time.ParseInLocation(l, strings.TrimSpace(s), time.Local); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (e *env) cmdAppointment(args []string) error {
	sub, args, err := needSub("appointment", args, "add, list, checkin, noshow, cancel or done")
	if err != nil {
		return err
	}
	switch sub {
	case "add":
		fs := flag.NewFlagSet("appointment add", flag.ContinueOnError)
		var n app.NewAppointment
		fs.StringVar(&n.PatientID, "patient", "", "")
		fs.StringVar(&n.Clinician, "clinician", "", "")
		at := fs.String("at", "", "")
		fs.IntVar(&n.Minutes, "minutes", app.DefaultAppointmentMinutes, "")
		fs.StringVar(&n.Reason, "reason", "", "")
		if _, err := e.parseFlags(fs, args, 0); err != nil {
			return err
		}
		if n.PatientID == "" || n.Clinician == "" || *at == "" {
			return usagef(`appointment add needs --patient ID, --clinician USERNAME and --at "YYYY-MM-DD HH:MM"`)
		}
		var ok bool
		if n.At, ok = parseDateTime(*at); !ok {
			return usagef(`appointment add: write --at as "YYYY-MM-DD HH:MM", for example "2026-11-24 09:30"`)
		}
		return e.withSession(func(s *app.Session) error {
			a, err := s.BookAppointment(e.ctx, n)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Booked %s (%d min) with %s, appointment id %s.\n",
				a.StartsAt.Format("Mon 2006-01-02 15:04"), a.Minutes, n.Clinician, a.ID)
			return nil
		})
	case "list":
		fs := flag.NewFlagSet("appointment list", flag.ContinueOnError)
		dayFlag := fs.String("day", "", "")
		clinician := fs.String("clinician", "", "")
		if _, err := e.parseFlags(fs, args, 0); err != nil {
			return err
		}
		day := time.Now()
		if *dayFlag != "" {
			d, err := time.ParseInLocation("2006-01-02", *dayFlag, time.Local)
			if err != nil {
				return usagef("appointment list: write --day as YYYY-MM-DD, for example 2026-11-24")
			}
			day = d
		}
		return e.withSession(func(s *app.Session) error {
			vs, err := s.DaySchedule(e.ctx, day, *clinician)
			if err != nil {
				return err
			}
			who := "all clinicians"
			if *clinician != "" {
				who = *clinician
			}
			if len(vs) == 0 {
				fmt.Fprintf(e.stdout, "No appointments on %s (%s).\n", day.Format("Mon 2006-01-02"), who)
				return nil
			}
			fmt.Fprintf(e.stdout, "Schedule for %s (%s):\n", day.Format("Mon 2006-01-02"), who)
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tMIN\tCLINICIAN\tPATIENT\tMRN\tSTATUS\tREASON\tID")
			for _, v := range vs {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", v.StartsAt.Format("15:04"), v.Minutes, v.ClinicianUser,
					v.PatientName, v.PatientMRN, strings.ReplaceAll(v.Status, "_", "-"), oneLine(v.Reason), v.ID)
			}
			return tw.Flush()
		})
	case "checkin", "noshow", "cancel", "done":
		pos, err := e.parseFlags(flag.NewFlagSet("appointment "+sub, flag.ContinueOnError), args, 1)
		if err != nil {
			return err
		}
		return e.withSession(func(s *app.Session) error {
			move := map[string]func(s *app.Session) (store.Appointment, error){
				"checkin": func(s *app.Session) (store.Appointment, error) { return s.CheckIn(e.ctx, pos[0]) },
				"noshow":  func(s *app.Session) (store.Appointment, error) { return s.NoShow(e.ctx, pos[0]) },
				"cancel":  func(s *app.Session) (store.Appointment, error) { return s.CancelAppointment(e.ctx, pos[0]) },
				"done":    func(s *app.Session) (store.Appointment, error) { return s.CompleteAppointment(e.ctx, pos[0]) },
			}[sub]
			a, err := move(s)
			if err != nil {
				return err
			}
			said := map[string]string{"checkin": "Checked in", "noshow": "Marked as a no-show", "cancel": "Cancelled", "done": "Done"}[sub]
			fmt.Fprintf(e.stdout, "%s: appointment %s (%s).\n", said, a.ID, a.StartsAt.Format("Mon 2006-01-02 15:04"))
			return nil
		})
	}
	return usagef("unknown appointment subcommand %q (add, list, checkin, noshow, cancel, done)", sub)
}

// noteText resolves --text: "-" reads the rest of standard input (after
// the password line with --password-stdin), which keeps the note out of
// the process list.
func (e *env) noteText(text string) (string, error) {
	if text != "-" {
		return text, nil
	}
	b, err := io.ReadAll(e.stdin)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func (e *env) cmdNote(args []string) error {
	sub, args, err := needSub("note", args, "add, edit, sign, amend or list")
	if err != nil {
		return err
	}
	switch sub {
	case "add":
		fs := flag.NewFlagSet("note add", flag.ContinueOnError)
		var n app.NewNote
		fs.StringVar(&n.PatientID, "patient", "", "")
		fs.StringVar(&n.EncounterID, "encounter", "", "")
		fs.StringVar(&n.Text, "text", "", "")
		if _, err := e.parseFlags(fs, args, 0); err != nil {
			return err
		}
		if n.PatientID == "" || n.Text == "" {
			return usagef("note add needs --patient ID and --text T (or --text - to read it from standard input)")
		}
		return e.withSession(func(s *app.Session) error {
			text, err := e.noteText(n.Text)
			if err != nil {
				return err
			}
			n.Text = text
			note, err := s.WriteNote(e.ctx, n)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Draft note %s saved in encounter %s; sign it with `ward note sign %s`.\n", note.ID, note.EncounterID, note.ID)
			return nil
		})
	case "edit", "amend":
		fs := flag.NewFlagSet("note "+sub, flag.ContinueOnError)
		text := fs.String("text", "", "")
		pos, err := e.parseFlags(fs, args, 1)
		if err != nil {
			return err
		}
		if *text == "" {
			return usagef("note %s needs ID --text T (or --text - to read it from standard input)", sub)
		}
		return e.withSession(func(s *app.Session) error {
			t, err := e.noteText(*text)
			if err != nil {
				return err
			}
			if sub == "edit" {
				note, err := s.EditDraft(e.ctx, pos[0], t)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "Draft note %s updated.\n", note.ID)
				return nil
			}
			note, err := s.AmendNote(e.ctx, pos[0], t)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Draft amendment %s of note %s saved; sign it with `ward note sign %s`.\n", note.ID, pos[0], note.ID)
			return nil
		})
	case "sign":
		pos, err := e.parseFlags(flag.NewFlagSet("note sign", flag.ContinueOnError), args, 1)
		if err != nil {
			return err
		}
		return e.withSession(func(s *app.Session) error {
			note, err := s.SignNote(e.ctx, pos[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Signed note %s at %s. It can no longer change; correct it with `ward note amend %s --text T`.\n",
				note.ID, note.SignedAt.Format("2006-01-02 15:04"), note.ID)
			return nil
		})
	case "list":
		fs := flag.NewFlagSet("note list", flag.ContinueOnError)
		patient := fs.String("patient", "", "")
		if _, err := e.parseFlags(fs, args, 0); err != nil {
			return err
		}
		if *patient == "" {
			return usagef("note list needs --patient ID")
		}
		return e.withSession(func(s *app.Session) error {
			l, err := s.Notes(e.ctx, *patient)
			if err != nil {
				return err
			}
			if len(l.Threads) == 0 {
				fmt.Fprintln(e.stdout, "No notes.")
				return nil
			}
			for i, t := range l.Threads {
				if i > 0 {
					fmt.Fprintln(e.stdout)
				}
				printThread(e.stdout, t, l.Names, "")
			}
			return nil
		})
	}
	return usagef("unknown note subcommand %q (add, edit, sign, amend, list)", sub)
}

// printThread prints a note's versions, oldest first, each with its text.
func printThread(w io.Writer, t store.NoteThread, names map[string]string, indent string) {
	orig := t.Original()
	fmt.Fprintf(w, "%sNote %s, encounter %s, %d version(s):\n", indent, orig.ID, orig.EncounterID, len(t.Versions))
	cur := t.Current().ID
	for i, v := range t.Versions {
		state := "draft"
		if v.Status == store.NoteSigned {
			state = "signed " + v.SignedAt.Format("2006-01-02 15:04")
		}
		mark := ""
		if v.ID == cur && len(t.Versions) > 1 {
			mark = " (current)"
		}
		amends := ""
		if v.AmendsID != "" {
			amends = ", amends " + v.AmendsID
		}
		fmt.Fprintf(w, "%s  v%d %s: %s, by %s%s%s\n", indent, i+1, v.ID, state, nameOf(names, v.AuthorID), amends, mark)
		for _, line := range strings.Split(v.Body, "\n") {
			fmt.Fprintf(w, "%s      %s\n", indent, line)
		}
	}
}

func nameOf(names map[string]string, id string) string {
	if n, ok := names[id]; ok && n != "" {
		return n
	}
	return id
}

// oneLine keeps a table cell on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// cmdChartList runs allergy, medication and problem: add, list and their
// status changes.
func (e *env) cmdChartList(kind string, args []string) error {
	subs := map[string]string{"allergy": "add, list or status", "medication": "add, list or stop", "problem": "add, list, resolve or status"}[kind]
	sub, args, err := needSub(kind, args, subs)
	if err != nil {
		return err
	}
	switch {
	case sub == "add":
		return e.cmdChartAdd(kind, args)
	case sub == "list":
		fs := flag.NewFlagSet(kind+" list", flag.ContinueOnError)
		patient := fs.String("patient", "", "")
		all := fs.Bool("all", false, "")
		if _, err := e.parseFlags(fs, args, 0); err != nil {
			return err
		}
		if *patient == "" {
			return usagef("%s list needs --patient ID", kind)
		}
		return e.withSession(func(s *app.Session) error { return e.printChartList(s, kind, *patient, *all) })
	case sub == "status" && kind != "medication":
		pos, err := e.parseFlags(flag.NewFlagSet(kind+" status", flag.ContinueOnError), args, 2)
		if err != nil {
			return err
		}
		return e.withSession(func(s *app.Session) error {
			var status string
			if kind == "allergy" {
				a, err := s.SetAllergyStatus(e.ctx, pos[0], pos[1])
				if err != nil {
					return err
				}
				status = a.Status
			} else {
				p, err := s.SetProblemStatus(e.ctx, pos[0], pos[1], "")
				if err != nil {
					return err
				}
				status = p.Status
			}
			fmt.Fprintf(e.stdout, "The %s %s is now %s.\n", kind, pos[0], status)
			return nil
		})
	case (sub == "stop" && kind == "medication") || (sub == "resolve" && kind == "problem"):
		fs := flag.NewFlagSet(kind+" "+sub, flag.ContinueOnError)
		on := fs.String("on", "", "")
		pos, err := e.parseFlags(fs, args, 1)
		if err != nil {
			return err
		}
		return e.withSession(func(s *app.Session) error {
			if kind == "medication" {
				m, err := s.StopMedication(e.ctx, pos[0], *on)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "Medication %s stopped on %s.\n", m.ID, m.StoppedOn)
				return nil
			}
			p, err := s.ResolveProblem(e.ctx, pos[0], *on)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Problem %s resolved on %s.\n", p.ID, p.ResolvedOn)
			return nil
		})
	}
	return usagef("unknown %s subcommand %q (%s)", kind, sub, subs)
}

func (e *env) cmdChartAdd(kind string, args []string) error {
	fs := flag.NewFlagSet(kind+" add", flag.ContinueOnError)
	patient := fs.String("patient", "", "")
	var a app.NewAllergy
	var m app.NewMedication
	var p app.NewProblem
	var need string
	switch kind {
	case "allergy":
		fs.StringVar(&a.Substance, "substance", "", "")
		fs.StringVar(&a.Reaction, "reaction", "", "")
		fs.StringVar(&a.Severity, "severity", "", "")
		need = "--substance S"
	case "medication":
		fs.StringVar(&m.Name, "name", "", "")
		fs.StringVar(&m.Dose, "dose", "", "")
		fs.StringVar(&m.Route, "route", "", "")
		fs.StringVar(&m.Frequency, "frequency", "", "")
		fs.StringVar(&m.StartedOn, "started", "", "")
		need = "--name N"
	case "problem":
		fs.StringVar(&p.Description, "description", "", "")
		fs.StringVar(&p.Code, "code", "", "")
		fs.StringVar(&p.Onset, "onset", "", "")
		need = "--description D"
	}
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *patient == "" || a.Substance+m.Name+p.Description == "" {
		return usagef("%s add needs --patient ID and %s", kind, need)
	}
	return e.withSession(func(s *app.Session) error {
		switch kind {
		case "allergy":
			a.PatientID = *patient
			r, err := s.AddAllergy(e.ctx, a)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Recorded allergy to %s, id %s.\n", r.Substance, r.ID)
		case "medication":
			m.PatientID = *patient
			r, err := s.AddMedication(e.ctx, m)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Recorded medication %s, id %s.\n", strings.TrimSpace(r.Name+" "+r.Dose), r.ID)
		case "problem":
			p.PatientID = *patient
			r, err := s.AddProblem(e.ctx, p)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Recorded problem %s, id %s.\n", r.Description, r.ID)
		}
		return nil
	})
}

func (e *env) printChartList(s *app.Session, kind, patient string, all bool) error {
	which := "active "
	if all {
		which = ""
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	switch kind {
	case "allergy":
		as, err := s.Allergies(e.ctx, patient, all)
		if err != nil {
			return err
		}
		if len(as) == 0 {
			fmt.Fprintf(e.stdout, "No %sallergies recorded.\n", which)
			return nil
		}
		fmt.Fprintln(tw, "SUBSTANCE\tREACTION\tSEVERITY\tSTATUS\tRECORDED\tID")
		for _, a := range as {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", oneLine(a.Substance), oneLine(a.Reaction), a.Severity, a.Status,
				a.RecordedAt.Format("2006-01-02"), a.ID)
		}
	case "medication":
		ms, err := s.Medications(e.ctx, patient, all)
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			fmt.Fprintf(e.stdout, "No %smedications recorded.\n", which)
			return nil
		}
		fmt.Fprintln(tw, "MEDICATION\tDOSE\tROUTE\tFREQUENCY\tSTATUS\tSTARTED\tSTOPPED\tID")
		for _, m := range ms {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", oneLine(m.Name), oneLine(m.Dose), oneLine(m.Route),
				oneLine(m.Frequency), m.Status, m.StartedOn, m.StoppedOn, m.ID)
		}
	case "problem":
		ps, err := s.Problems(e.ctx, patient, all)
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			fmt.Fprintf(e.stdout, "No %sproblems recorded.\n", which)
			return nil
		}
		fmt.Fprintln(tw, "PROBLEM\tCODE\tONSET\tSTATUS\tRESOLVED\tID")
		for _, p := range ps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", oneLine(p.Description), p.Code, p.Onset, p.Status, p.ResolvedOn, p.ID)
		}
	}
	return tw.Flush()
}

func (e *env) cmdChart(args []string) error {
	pos, err := e.parseFlags(flag.NewFlagSet("chart", flag.ContinueOnError), args, 1)
	if err != nil {
		return err
	}
	return e.withSession(func(s *app.Session) error {
		c, err := s.Chart(e.ctx, pos[0])
		if err != nil {
			return err
		}
		printChart(e.stdout, c)
		return nil
	})
}

// printChart prints the whole chart: demographics, the lists (active
// entries first), then the encounters with their notes, newest first.
func printChart(w io.Writer, c app.Chart) {
	p := c.Patient
	fmt.Fprintf(w, "Chart of %s, born %s", p.Name, p.BirthDate)
	if p.Sex != "" {
		fmt.Fprintf(w, ", %s", p.Sex)
	}
	fmt.Fprintf(w, ", MRN %s\n", p.MRN)
	if p.Phone != "" || p.Address != "" {
		fmt.Fprintf(w, "Phone %s; address %s\n", orNone(p.Phone), orNone(p.Address))
	}
	if p.Restricted {
		fmt.Fprintln(w, "RESTRICTED chart: open only to the clinicians named for it.")
	}
	fmt.Fprintf(w, "Id %s\n", p.ID)

	fmt.Fprintln(w, "\nAllergies:")
	if len(c.Allergies) == 0 {
		fmt.Fprintln(w, "  none recorded")
	}
	for _, a := range c.Allergies {
		fmt.Fprintf(w, "  %s%s — %s, id %s\n", a.Substance, details(a.Reaction, a.Severity), a.Status, a.ID)
	}
	fmt.Fprintln(w, "\nMedications:")
	if len(c.Medications) == 0 {
		fmt.Fprintln(w, "  none recorded")
	}
	for _, m := range c.Medications {
		state := m.Status
		if m.StartedOn != "" {
			state += " since " + m.StartedOn
		}
		if m.StoppedOn != "" {
			state = "stopped " + m.StoppedOn
		}
		fmt.Fprintf(w, "  %s%s — %s, id %s\n", m.Name, details(m.Dose, m.Route, m.Frequency), state, m.ID)
	}
	fmt.Fprintln(w, "\nProblems:")
	if len(c.Problems) == 0 {
		fmt.Fprintln(w, "  none recorded")
	}
	for _, pr := range c.Problems {
		state := pr.Status
		if pr.Onset != "" {
			state += ", onset " + pr.Onset
		}
		if pr.ResolvedOn != "" {
			state += ", since " + pr.ResolvedOn
		}
		fmt.Fprintf(w, "  %s%s — %s, id %s\n", pr.Description, details(pr.Code), state, pr.ID)
	}
	fmt.Fprintln(w, "\nEncounters:")
	if len(c.Encounters) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, enc := range c.Encounters {
		fmt.Fprintf(w, "  %s %s with %s, %s, id %s\n", enc.StartedAt.Format("2006-01-02 15:04"), enc.Kind,
			nameOf(c.Names, enc.ClinicianID), enc.Status, enc.ID)
		for _, t := range enc.Notes {
			printThread(w, t, c.Names, "    ")
		}
	}
	for _, t := range c.Unfiled {
		printThread(w, t, c.Names, "  ")
	}
}

// details puts the non-empty parts in parentheses: " (hives, severe)".
func details(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p = oneLine(p); p != "" {
			keep = append(keep, p)
		}
	}
	if len(keep) == 0 {
		return ""
	}
	return " (" + strings.Join(keep, ", ") + ")"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (e *env) cmdHistory(args []string) error {
	pos, err := e.parseFlags(flag.NewFlagSet("history", flag.ContinueOnError), args, 2)
	if err != nil {
		return usagef("history needs KIND ID; KIND is one of %s", strings.Join(app.HistoryKinds(), ", "))
	}
	return e.withSession(func(s *app.Session) error {
		vs, err := s.History(e.ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "History of %s %s: %d version(s)\n", pos[0], pos[1], len(vs))
		var prev []field
		for i, v := range vs {
			fields, err := rowFields(v.Data)
			if err != nil {
				return err
			}
			what := "changed"
			switch {
			case i == 0:
				what = "created"
			case v.Op == "delete":
				what = "deleted"
			}
			fmt.Fprintf(e.stdout, "%s  %s on workstation %s\n", v.At().Format("2006-01-02 15:04:05"), what, v.Origin)
			for _, f := range fields {
				if old, ok := lookup(prev, f.name); i == 0 || !ok || old != f.value {
					if i > 0 && ok {
						fmt.Fprintf(e.stdout, "    %s: %s → %s\n", f.name, old, f.value)
					} else {
						fmt.Fprintf(e.stdout, "    %s: %s\n", f.name, f.value)
					}
				}
			}
			prev = fields
		}
		return nil
	})
}

type field struct{ name, value string }

// rowFields lists a change-log row's fields in the order they were written.
func rowFields(data []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("a history version is not a record (%v)", err)
	}
	var fs []field
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		var v any
		json.Unmarshal(raw, &v)
		val := fmt.Sprint(v)
		if s, ok := v.(string); ok {
			val = s
		}
		if val == "" {
			val = "(none)"
		}
		fs = append(fs, field{fmt.Sprint(k), val})
	}
	return fs, nil
}

func lookup(fs []field, name string) (string, bool) {
	for _, f := range fs {
		if f.name == name {
			return f.value, true
		}
	}
	return "", false
}

func (e *env) cmdPatientEdit(args []string) error {
	fs := flag.NewFlagSet("patient edit", flag.ContinueOnError)
	vals := map[string]*string{}
	for _, name := range []string{"name", "dob", "mrn", "phone", "sex", "address"} {
		vals[name] = fs.String(name, "", "")
	}
	pos, err := e.parseFlags(fs, args, 1)
	if err != nil {
		return err
	}
	var ch app.PatientChange
	set := map[string]**string{"name": &ch.Name, "dob": &ch.BirthDate, "mrn": &ch.MRN, "phone": &ch.Phone, "sex": &ch.Sex, "address": &ch.Address}
	n := 0
	fs.Visit(func(f *flag.Flag) {
		if to, ok := set[f.Name]; ok {
			*to = vals[f.Name]
			n++
		}
	})
	if n == 0 {
		return usagef("patient edit needs ID and at least one of --name, --dob, --mrn, --phone, --sex, --address")
	}
	return e.withSession(func(s *app.Session) error {
		p, err := s.UpdatePatient(e.ctx, pos[0], ch)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Updated %s, born %s, MRN %s, phone %s, id %s.\n", p.Name, p.BirthDate, p.MRN, orNone(p.Phone), p.ID)
		return nil
	})
}

func (e *env) cmdPatientMerge(args []string) error {
	fs := flag.NewFlagSet("patient merge", flag.ContinueOnError)
	keep := fs.String("keep", "", "")
	dup := fs.String("duplicate", "", "")
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *keep == "" || *dup == "" {
		return usagef("patient merge needs --keep ID (the record to keep) and --duplicate ID (the one to fold into it)")
	}
	return e.withSession(func(s *app.Session) error {
		r, err := s.MergePatients(e.ctx, *keep, *dup)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Merged %s into %s: moved %d appointments, %d encounters, %d notes, %d allergies, %d medications, %d problems.\n"+
			"The duplicate's id now leads to %s.\n", r.Duplicate, r.Keep, r.Moved["appointments"], r.Moved["encounters"], r.Moved["notes"],
			r.Moved["allergies"], r.Moved["medications"], r.Moved["problems"], r.Keep)
		return nil
	})
}
