package cli

import (
	"flag"
	"fmt"
	"sort"
	"text/tabwriter"

	"ward/app"
)

// ward --user ADMIN settings get [KEY] | settings set KEY VALUE
func (e *env) cmdSettings(args []string) error {
	if len(args) == 0 {
		return usagef("settings needs a subcommand: get or set")
	}
	switch args[0] {
	case "get":
		pos, err := e.parseFlags(flag.NewFlagSet("settings get", flag.ContinueOnError), args[1:], -1)
		if err != nil {
			return err
		}
		return e.withSession(func(s *app.Session) error {
			vals, err := s.Settings(e.ctx)
			if err != nil {
				return err
			}
			keys := make([]string, 0, len(vals))
			for k := range vals {
				if len(pos) == 0 || pos[0] == k {
					keys = append(keys, k)
				}
			}
			if len(keys) == 0 {
				return usagef("there is no setting %q; the settings are listed by `ward settings get`", pos[0])
			}
			sort.Strings(keys)
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\n", k, vals[k])
			}
			return tw.Flush()
		})
	case "set":
		pos, err := e.parseFlags(flag.NewFlagSet("settings set", flag.ContinueOnError), args[1:], 2)
		if err != nil {
			return err
		}
		return e.withSession(func(s *app.Session) error {
			if err := s.SetSetting(e.ctx, pos[0], pos[1]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s = %s\n", pos[0], pos[1])
			return nil
		})
	}
	return usagef("unknown settings subcommand %q (get, set)", args[0])
}
