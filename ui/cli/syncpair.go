package cli

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"ward/app"
)

// The replica's transport and pairing: ward sync invite | join | approve |
// remove | backup-peer | config (sync.go dispatches; usage in syncUsage).

const syncPairUsage = `  sync invite [--address HOST[:PORT],…]   a one-time code for a new workstation (admin; Ward must run here)
  sync join CODE --data NEW-FOLDER [--name N] [--listen tcp://HOST:PORT]   make this a workstation of the clinic
  sync approve [ID] [--decline REASON]     list workstations waiting to join, or approve (decline) one (admin)
  sync remove NODE         revoke a lost or stolen workstation (admin)
  sync backup-peer add DEVICE-ID [--address tcp://HOST:PORT] | remove DEVICE-ID | list   untrusted encrypted copies (admin)
  sync config [--listen tcp://HOST:PORT] [--lan-discovery on|off]   this workstation's replica network settings (admin)
`

// ward --user ADMIN sync invite [--address A,B]
func (e *env) cmdSyncInvite(args []string) error {
	fs := flag.NewFlagSet("sync invite", flag.ContinueOnError)
	addrs := fs.String("address", "", "")
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	var list []string
	for _, a := range strings.Split(*addrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			list = append(list, a)
		}
	}
	return e.withSession(func(s *app.Session) error {
		inv, err := s.Invite(e.ctx, list)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Invite code (one use, until %s):\n\n  %s\n\n", inv.Expires.Local().Format("15:04"), inv.Code)
		fmt.Fprintf(e.stdout, "On the new workstation: ward sync join CODE --data NEW-FOLDER\n")
		fmt.Fprintf(e.stdout, "It will reach this workstation at %s (device %s).\n", strings.Join(inv.Addresses, ", "), inv.Device)
		fmt.Fprintln(e.stdout, "Ward must be running here meanwhile (ward serve, or the window); then approve it with `ward sync approve`.")
		return nil
	})
}

// ward sync join CODE --data NEW-FOLDER [--name N] [--listen L]
func (e *env) cmdSyncJoin(args []string) error {
	fs := flag.NewFlagSet("sync join", flag.ContinueOnError)
	name := fs.String("name", "", "")
	listen := fs.String("listen", "", "")
	sheet := fs.String("kit-sheet", "", "")
	pos, err := e.parseFlags(fs, args, -1)
	if err != nil {
		return err
	}
	code := ""
	if len(pos) == 1 {
		code = pos[0]
	} else if code, err = e.line("Invite code"); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Joining the clinic with data folder %s…\n", e.dataDir)
	c, recovery, info, err := app.JoinClinic(e.ctx, app.JoinClinicOptions{Dir: e.dataDir, Code: code, NodeName: *name,
		Listen: *listen, Keyring: e.keyring, Waiting: func(id app.JoinIdentity) {
			fmt.Fprintf(e.stdout, "Waiting for an administrator at the inviting workstation to approve this one.\n")
			fmt.Fprintf(e.stdout, "They should see: node %s, device %s\n", id.Node, id.Device)
			fmt.Fprintf(e.stdout, "(The inviting workstation is node %s, device %s.)\n", id.InviterNode, id.InviterDevice)
		}})
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(e.stdout, "Joined clinic %q as workstation %s: %d records, %d audit entries from node %s.\n",
		c.Name(), c.Node().ID, info.Rows, info.Entries, info.Origin)
	if err := e.printRecoveryCode(c, recovery, *sheet); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "Start replicating: ward serve (or open the window). People sign in with the accounts they have at the clinic.")
	return nil
}

// line reads one line: from standard input with --password-stdin, else
// asked on the terminal.
func (e *env) line(what string) (string, error) {
	if e.stdinFile != nil && !e.passwordStdin {
		fmt.Fprintf(e.stderr, "%s: ", what)
	}
	s, err := e.stdin.ReadString('\n')
	if err != nil && s == "" {
		return "", usagef("%s is required", strings.ToLower(what))
	}
	return strings.TrimSpace(s), nil
}

// ward --user ADMIN sync approve [ID] [--decline REASON] [--all]
func (e *env) cmdSyncApprove(args []string) error {
	fs := flag.NewFlagSet("sync approve", flag.ContinueOnError)
	decline := fs.String("decline", "", "")
	all := fs.Bool("all", false, "")
	pos, err := e.parseFlags(fs, args, -1)
	if err != nil {
		return err
	}
	return e.withSession(func(s *app.Session) error {
		if len(pos) == 0 {
			js, err := s.JoinRequests(e.ctx, *all)
			if err != nil {
				return err
			}
			if len(js) == 0 {
				fmt.Fprintln(e.stdout, "No workstation is waiting to join.")
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tNODE\tDEVICE\tFROM\tASKED\tSTATE")
			for _, j := range js {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.Name, j.NodeID, j.DeviceID, j.RemoteAddr,
					j.RequestedAt.Local().Format("15:04:05"), j.State)
			}
			tw.Flush()
			fmt.Fprintln(e.stdout, "Compare node and device with what the new workstation shows, then: ward sync approve ID")
			return nil
		}
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil {
			return usagef("sync approve: %q is not a request number (ward sync approve lists them)", pos[0])
		}
		if *decline != "" {
			if err := s.DeclineJoin(e.ctx, id, *decline); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Join request %d declined.\n", id)
			return nil
		}
		j, err := s.ApproveJoin(e.ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Workstation %s (%s, node %s) approved: the clinic key and a snapshot are on their way to it, sealed to it.\n",
			j.Name, j.DeviceID, j.NodeID)
		return nil
	})
}

// ward --user ADMIN sync remove NODE
func (e *env) cmdSyncRemove(args []string) error {
	pos, err := e.parseFlags(flag.NewFlagSet("sync remove", flag.ContinueOnError), args, 1)
	if err != nil {
		return err
	}
	return e.withSession(func(s *app.Session) error {
		n, err := s.RemoveNode(e.ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Workstation %s (node %s) removed from the clinic: what it sends from now on is refused, "+
			"and every workstation stops syncing with it as this removal reaches it.\n", n.Name, n.ID)
		return nil
	})
}

// ward --user ADMIN sync backup-peer add|remove|list
func (e *env) cmdSyncBackupPeer(args []string) error {
	if len(args) == 0 {
		return usagef("sync backup-peer needs add, remove or list")
	}
	switch args[0] {
	case "add":
		fs := flag.NewFlagSet("sync backup-peer add", flag.ContinueOnError)
		addr := fs.String("address", "", "")
		pos, err := e.parseFlags(fs, args[1:], 1)
		if err != nil {
			return err
		}
		var addrs []string
		if *addr != "" {
			addrs = strings.Split(*addr, ",")
		}
		return e.withSession(func(s *app.Session) error {
			dev, err := s.AddBackupPeer(e.ctx, pos[0], addrs)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Backup peer %s added: this workstation's folders go to it encrypted (it never sees the clinic's data).\n", pos[0])
			fmt.Fprintf(e.stdout, "On that device, add this workstation (device %s) and accept its folders; see docs/replica.md, \"An encrypted off-site copy\".\n", dev)
			return nil
		})
	case "remove":
		pos, err := e.parseFlags(flag.NewFlagSet("sync backup-peer remove", flag.ContinueOnError), args[1:], 1)
		if err != nil {
			return err
		}
		return e.withSession(func(s *app.Session) error {
			if err := s.RemoveBackupPeer(e.ctx, pos[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Backup peer %s removed.\n", pos[0])
			return nil
		})
	case "list":
		if _, err := e.parseFlags(flag.NewFlagSet("sync backup-peer list", flag.ContinueOnError), args[1:], 0); err != nil {
			return err
		}
		return e.withSession(func(s *app.Session) error {
			ps, err := s.BackupPeers(e.ctx)
			if err != nil {
				return err
			}
			if len(ps) == 0 {
				fmt.Fprintln(e.stdout, "No backup peers.")
			}
			for _, p := range ps {
				fmt.Fprintf(e.stdout, "%s at %s, since %s\n", p.DeviceID, addressesOrDynamic(p.Addresses), p.AddedAt.Local().Format(time.DateOnly))
			}
			return nil
		})
	}
	return usagef("unknown sync backup-peer subcommand %q (there are: add, remove, list)", args[0])
}

func addressesOrDynamic(a []string) string {
	if len(a) == 0 {
		return "dynamic (LAN discovery)"
	}
	return strings.Join(a, ", ")
}

// ward --user ADMIN sync config [--listen L] [--lan-discovery on|off]
func (e *env) cmdSyncConfig(args []string) error {
	fs := flag.NewFlagSet("sync config", flag.ContinueOnError)
	listen := fs.String("listen", "", "")
	lan := fs.String("lan-discovery", "", "")
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *lan != "" && *lan != "on" && *lan != "off" {
		return usagef("sync config: --lan-discovery is on or off")
	}
	return e.withSession(func(s *app.Session) error {
		cfg, err := s.SetSyncConfig(e.ctx, *listen, *lan)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Listen: %s (pairing: the next port)\nLAN discovery: %s\n", cfg.Listen, onOff(cfg.LANDiscovery))
		if *listen != "" || *lan != "" {
			fmt.Fprintln(e.stdout, "Changes take effect when Ward next starts here (restart ward serve or the window).")
		}
		return nil
	})
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// printTransport shows what the replica node running here last saw.
func (e *env) printTransport(s *app.Session) error {
	rows, err := s.SyncTransport(e.ctx)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		fmt.Fprintln(e.stdout, "Network: the replica node is not running here (start ward serve, or open the window).")
		return nil
	}
	now := time.Now()
	self := rows[0]
	fmt.Fprintf(e.stdout, "Network (as the running node saw it %s ago): listening on %s, device %s.\n",
		since(now, self.UpdatedAt), self.Address, self.DeviceID)
	for _, r := range rows[1:] {
		who := "Workstation node " + r.NodeID
		if r.Backup {
			who = "Backup peer"
		}
		state := "not connected, last seen " + since(now, r.LastSeen)
		if !r.LastSeen.IsZero() {
			state += " ago"
		}
		if r.Connected {
			state = "connected from " + r.Address
		}
		fmt.Fprintf(e.stdout, "  %s (device %s): %s", who, r.DeviceID, state)
		if r.OutboxNeed > 0 {
			fmt.Fprintf(e.stdout, "; lacks %d bytes of this workstation's segments", r.OutboxNeed)
		}
		fmt.Fprintln(e.stdout, ".")
	}
	return nil
}
