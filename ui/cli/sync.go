package cli

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"ward/app"
	wsync "ward/sync"
)

// The replica's commands: `ward sync SUBCOMMAND`. Each subcommand is one
// entry of syncCommands, with its usage line in syncUsage.

const syncUsage = `  sync status              peers, what is applied and what waits, lag, refused segments (exit 1 if any)
  sync retry N             send refused segment #N (from sync status) back to be applied, once its cause is fixed
` + syncPairUsage

// syncCommands are the subcommands of `ward sync`.
var syncCommands = map[string]func(e *env, args []string) error{
	"status": (*env).cmdSyncStatus,
	"retry":  (*env).cmdSyncRetry,
	// Transport and pairing (syncpair.go).
	"invite":      (*env).cmdSyncInvite,
	"join":        (*env).cmdSyncJoin,
	"approve":     (*env).cmdSyncApprove,
	"remove":      (*env).cmdSyncRemove,
	"backup-peer": (*env).cmdSyncBackupPeer,
	"config":      (*env).cmdSyncConfig,
}

// ward sync SUBCOMMAND [flags]
func (e *env) cmdSync(args []string) error {
	if len(args) == 0 {
		return usagef("sync needs a subcommand: %s", syncSubcommands())
	}
	run, ok := syncCommands[args[0]]
	if !ok {
		return usagef("unknown sync subcommand %q (there are: %s)", args[0], syncSubcommands())
	}
	return run(e, args[1:])
}

func syncSubcommands() string {
	names := make([]string, 0, len(syncCommands))
	for n := range syncCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// ward --user U sync status
func (e *env) cmdSyncStatus(args []string) error {
	if _, err := e.parseFlags(flag.NewFlagSet("sync status", flag.ContinueOnError), args, 0); err != nil {
		return err
	}
	return e.withSession(func(s *app.Session) error {
		st, err := s.SyncStatus(e.ctx)
		if err != nil {
			return err
		}
		printSyncStatus(e.stdout, st)
		if err := e.printTransport(s); err != nil { // the network (syncpair.go)
			return err
		}
		if len(st.Quarantined) > 0 {
			return failedError{}
		}
		return nil
	})
}

// ward --user ADMIN sync retry N
func (e *env) cmdSyncRetry(args []string) error {
	pos, err := e.parseFlags(flag.NewFlagSet("sync retry", flag.ContinueOnError), args, 1)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(pos[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		return usagef("sync retry: give the number of the refused segment as sync status lists it (#N)")
	}
	return e.withSession(func(s *app.Session) error {
		if err := s.RetryQuarantined(e.ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Refused segment #%d is sent back: the replica tries it again now (ward sync status shows the outcome).\n", id)
		return nil
	})
}

func printSyncStatus(w io.Writer, st wsync.Status) {
	fmt.Fprintf(w, "This workstation: %s (node %s).\n", st.Self.Name, st.Self.ID)
	if st.Export.Segment == 0 {
		fmt.Fprintln(w, "Sent: nothing yet.")
	} else {
		fmt.Fprintf(w, "Sent: %d segments, the last made %s (%s ago).\n", st.Export.Segment,
			st.Export.Created.UTC().Format(time.RFC3339), since(st.Now, st.Export.Created))
	}
	if st.Unsent {
		fmt.Fprintln(w, "Changes made here are waiting to be sent.")
	}
	if len(st.Peers) == 0 {
		fmt.Fprintln(w, "Peers: none yet (pair a workstation to replicate).")
	}
	for _, p := range st.Peers {
		name := p.Name
		switch {
		case !p.Known:
			name = "UNKNOWN workstation"
		case !p.RevokedAt.IsZero():
			name += fmt.Sprintf(", REMOVED %s", p.RevokedAt.UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(w, "Peer %s (node %s):", name, p.Node)
		if p.Applied.Segment == 0 {
			fmt.Fprint(w, " nothing applied yet")
		} else {
			fmt.Fprintf(w, " applied up to segment %d (made %s ago, applied %s ago)", p.Applied.Segment,
				since(st.Now, p.Applied.Created), since(st.Now, p.Applied.AppliedAt))
		}
		if p.Waiting > 0 {
			fmt.Fprintf(w, "; %d segments waiting, lag %s", p.Waiting, p.Lag.Round(time.Second))
		} else {
			fmt.Fprint(w, "; up to date")
		}
		fmt.Fprintln(w, ".")
		if p.MissingSegment > 0 {
			fmt.Fprintf(w, "  Waiting for segment %d: later ones are here, it is not (still on its way, or lost).\n", p.MissingSegment)
		}
		if p.Quarantined > 0 {
			fmt.Fprintf(w, "  %d segments of this peer were refused (below); its later segments wait behind them.\n", p.Quarantined)
		}
	}
	if len(st.Quarantined) == 0 {
		fmt.Fprintln(w, "Refused segments: none.")
		return
	}
	fmt.Fprintf(w, "Refused segments: %d (kept in the replica/quarantine folder):\n", len(st.Quarantined))
	for _, q := range st.Quarantined {
		fmt.Fprintf(w, "  #%d node %s segment %d, %s: %s [%s]\n", q.ID, q.Origin, q.Segment,
			q.At.UTC().Format(time.RFC3339), q.Reason, q.Kind)
	}
}

// since says how long ago t was, in a person's units.
func since(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
