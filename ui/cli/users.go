package cli

import (
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"ward/app"
)

func (e *env) cmdUser(args []string) error {
	if len(args) == 0 {
		return usagef("user needs a subcommand: add or list")
	}
	switch args[0] {
	case "add":
		return e.cmdUserAdd(args[1:])
	case "list":
		if _, err := e.parseFlags(flag.NewFlagSet("user list", flag.ContinueOnError), args[1:], 0); err != nil {
			return err
		}
		c, s, err := e.signIn()
		if err != nil {
			return err
		}
		defer c.Close()
		us, err := s.Users(e.ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tNAME\tROLES\tSTATUS\tID")
		for _, u := range us {
			status := "active"
			if u.Disabled {
				status = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.DisplayName, strings.Join(u.Roles, ","), status, u.ID)
		}
		return tw.Flush()
	}
	return usagef("unknown user subcommand %q (add, list)", args[0])
}

func (e *env) cmdUserAdd(args []string) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	username := fs.String("username", "", "")
	name := fs.String("name", "", "")
	var roles []string
	fs.Func("role", "", func(v string) error {
		for _, r := range strings.Split(v, ",") {
			if r = strings.TrimSpace(r); r != "" {
				roles = append(roles, r)
			}
		}
		return nil
	})
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *username == "" || len(roles) == 0 {
		return usagef("user add needs --username U and --role R (roles: %s)", strings.Join(app.AllRoles, ", "))
	}
	for _, r := range roles {
		if !app.ValidRole(r) {
			return usagef("%q is not a role; the roles are %s", r, strings.Join(app.AllRoles, ", "))
		}
	}
	c, s, err := e.signIn()
	if err != nil {
		return err
	}
	defer c.Close()
	pw, err := e.newSecret("New password for " + *username)
	if err != nil {
		return err
	}
	u, err := s.AddUser(e.ctx, app.NewUser{Username: *username, Name: *name, Roles: roles, Password: pw})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "User %s (%s) added with roles %s; id %s.\n", u.Username, u.DisplayName, strings.Join(u.Roles, ","), u.ID)
	return nil
}
