package cli

import (
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"ward/app"
	"ward/store"
)

func (e *env) cmdPatient(args []string) error {
	if len(args) == 0 {
		return usagef("patient needs a subcommand: add, search or show")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "add":
		fs := flag.NewFlagSet("patient add", flag.ContinueOnError)
		var n app.NewPatient
		fs.StringVar(&n.Name, "name", "", "")
		fs.StringVar(&n.BirthDate, "dob", "", "")
		fs.StringVar(&n.MRN, "mrn", "", "")
		fs.StringVar(&n.Phone, "phone", "", "")
		fs.StringVar(&n.Sex, "sex", "", "")
		fs.StringVar(&n.Address, "address", "", "")
		if _, err := e.parseFlags(fs, args, 0); err != nil {
			return err
		}
		if n.Name == "" || n.BirthDate == "" {
			return usagef("patient add needs --name N and --dob YYYY-MM-DD")
		}
		c, s, err := e.signIn()
		if err != nil {
			return err
		}
		defer c.Close()
		p, err := s.RegisterPatient(e.ctx, n)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Registered %s, born %s, MRN %s, id %s.\n", p.Name, p.BirthDate, p.MRN, p.ID)
		return nil
	case "search":
		fs := flag.NewFlagSet("patient search", flag.ContinueOnError)
		limit := fs.Int("limit", 20, "")
		pos, err := e.parseFlags(fs, args, 1)
		if err != nil {
			return err
		}
		c, s, err := e.signIn()
		if err != nil {
			return err
		}
		defer c.Close()
		ps, err := s.SearchPatients(e.ctx, pos[0], *limit)
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			fmt.Fprintln(e.stdout, "No patient matches.")
			return nil
		}
		printPatients(e, ps)
		return nil
	case "show":
		pos, err := e.parseFlags(flag.NewFlagSet("patient show", flag.ContinueOnError), args, 1)
		if err != nil {
			return err
		}
		c, s, err := e.signIn()
		if err != nil {
			return err
		}
		defer c.Close()
		p, err := s.Patient(e.ctx, pos[0])
		if err != nil {
			if err == store.ErrNotFound {
				return fmt.Errorf("there is no patient with id %q: find the id with `ward patient search`", pos[0])
			}
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		for _, row := range [][2]string{{"Name", p.Name}, {"Born", p.BirthDate}, {"Sex", p.Sex}, {"MRN", p.MRN},
			{"Phone", p.Phone}, {"Address", p.Address}, {"Registered", p.CreatedAt.Format("2006-01-02 15:04")}, {"Id", p.ID}} {
			fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
		}
		return tw.Flush()
	case "restrict":
		fs := flag.NewFlagSet("patient restrict", flag.ContinueOnError)
		var clinicians string
		fs.StringVar(&clinicians, "clinician", "", "")
		pos, err := e.parseFlags(fs, args, 1)
		if err != nil {
			return err
		}
		if clinicians == "" {
			return usagef("patient restrict needs ID --clinician USERNAME[,USERNAME]: the clinicians who may open the chart")
		}
		return e.withSession(func(s *app.Session) error {
			if err := s.RestrictPatient(e.ctx, pos[0], strings.Split(clinicians, ",")); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "The chart is restricted: only %s may open it; anyone else needs emergency access.\n", clinicians)
			return nil
		})
	case "unrestrict":
		pos, err := e.parseFlags(flag.NewFlagSet("patient unrestrict", flag.ContinueOnError), args, 1)
		if err != nil {
			return err
		}
		return e.withSession(func(s *app.Session) error {
			if err := s.UnrestrictPatient(e.ctx, pos[0]); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "The restriction is lifted.")
			return nil
		})
	}
	return usagef("unknown patient subcommand %q (add, search, show, restrict, unrestrict)", sub)
}

func printPatients(e *env, ps []store.Patient) {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MRN\tNAME\tBORN\tPHONE\tID")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.MRN, p.Name, p.BirthDate, p.Phone, p.ID)
	}
	tw.Flush()
}
