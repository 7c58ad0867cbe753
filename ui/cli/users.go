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
	case "disable", "enable":
		pos, err := e.parseFlags(flag.NewFlagSet("user "+args[0], flag.ContinueOnError), args[1:], 1)
		if err != nil {
			return err
		}
		return e.withSession(func(s *app.Session) error {
			if args[0] == "disable" {
				if err := s.DisableUser(e.ctx, pos[0]); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "User %s is disabled: they can no longer sign in (their history stays in the audit log).\n", pos[0])
				return nil
			}
			if err := s.EnableUser(e.ctx, pos[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "User %s is enabled again.\n", pos[0])
			return nil
		})
	case "roles":
		fs := flag.NewFlagSet("user roles", flag.ContinueOnError)
		roles := roleFlag(fs)
		pos, err := e.parseFlags(fs, args[1:], 1)
		if err != nil {
			return err
		}
		if len(*roles) == 0 {
			return usagef("user roles needs USERNAME --role R[,R]")
		}
		return e.withSession(func(s *app.Session) error {
			if err := s.SetRoles(e.ctx, pos[0], *roles); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "User %s now has the roles %s.\n", pos[0], strings.Join(*roles, ","))
			return nil
		})
	case "reset-password":
		pos, err := e.parseFlags(flag.NewFlagSet("user reset-password", flag.ContinueOnError), args[1:], 1)
		if err != nil {
			return err
		}
		return e.withSession(func(s *app.Session) error {
			pw, err := e.newSecret("New password for " + pos[0])
			if err != nil {
				return err
			}
			if err := s.ResetPassword(e.ctx, pos[0], pw); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "The password of %s was reset; give it to them in person.\n", pos[0])
			return nil
		})
	case "unlock":
		pos, err := e.parseFlags(flag.NewFlagSet("user unlock", flag.ContinueOnError), args[1:], 1)
		if err != nil {
			return err
		}
		return e.withSession(func(s *app.Session) error {
			if err := s.UnlockAccount(e.ctx, pos[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "The sign-in lockout of %s is lifted.\n", pos[0])
			return nil
		})
	}
	if handled, err := e.cmdUserAuth(args[0], args[1:]); handled {
		return err
	}
	return usagef("unknown user subcommand %q (add, list, disable, enable, roles, reset-password, unlock, password, pin, totp)", args[0])
}

func (e *env) cmdUserAdd(args []string) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	username := fs.String("username", "", "")
	name := fs.String("name", "", "")
	rolesp := roleFlag(fs)
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	roles := *rolesp
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

// roleFlag is --role R[,R], repeatable.
func roleFlag(fs *flag.FlagSet) *[]string {
	var roles []string
	fs.Func("role", "", func(v string) error {
		for _, r := range strings.Split(v, ",") {
			if r = strings.TrimSpace(r); r != "" {
				roles = append(roles, r)
			}
		}
		return nil
	})
	return &roles
}

// withSession signs in --user, runs fn, and closes the clinic.
func (e *env) withSession(fn func(s *app.Session) error) error {
	c, s, err := e.signIn()
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(s)
}
