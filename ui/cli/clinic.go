package cli

import (
	"flag"
	"fmt"
	"time"

	"ward/app"
	"ward/store"
)

func (e *env) cmdInit(args []string) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	clinic := fs.String("clinic", "", "")
	admin := fs.String("admin", "", "")
	adminName := fs.String("admin-name", "", "")
	node := fs.String("node", "", "")
	sheet := fs.String("kit-sheet", "", "")
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *clinic == "" || *admin == "" {
		return usagef("init needs --clinic NAME and --admin USER")
	}
	if store.Exists(e.dataDir) {
		return store.ErrDatabaseExists
	}
	pw, err := e.newSecret("New password for " + *admin)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "Creating the clinic and its emergency kit (a few seconds)…")
	c, code, err := app.Init(e.ctx, app.InitOptions{Dir: e.dataDir, ClinicName: *clinic, NodeName: *node,
		AdminUsername: *admin, AdminName: *adminName, AdminPassword: pw, Keyring: e.keyring})
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(e.stdout, "Clinic %q created in %s (workstation %s).\n", c.Name(), c.Dir(), c.Node().ID)
	return e.printRecoveryCode(c, code, *sheet)
}

// printRecoveryCode shows the code once, with what to do with it, and
// writes the kit sheet to sheet when one is asked for (--kit-sheet FILE).
func (e *env) printRecoveryCode(c *app.Clinic, code, sheet string) error {
	fmt.Fprintf(e.stdout, `
EMERGENCY KIT — write this recovery code down now. It is shown only once.
    %s
With the kit file %s and this code, the database opens when the
keyring is lost. Keep a copy of the kit file and the code in the clinic's safe.
`, code, c.KitPath())
	if sheet == "" {
		return nil
	}
	if err := app.WritePrivateFile(sheet, c.KitSheet(code)); err != nil {
		return fmt.Errorf("the kit sheet was not written (%v): write the recovery code above down by hand", err)
	}
	fmt.Fprintf(e.stdout, "The kit sheet (a PDF with this code) is in %s, readable only by you: print it, put it in the "+
		"clinic's safe, then delete the file.\n", sheet)
	return nil
}

func (e *env) cmdCheck(args []string) error {
	if _, err := e.parseFlags(flag.NewFlagSet("check", flag.ContinueOnError), args, 0); err != nil {
		return err
	}
	c, err := e.openClinic()
	if err != nil {
		return err
	}
	defer c.Close()
	rep, err := c.Check(e.ctx)
	if err != nil {
		return err
	}
	how := "the key in the OS keyring"
	if c.OpenedWithKit() {
		how = "the emergency kit"
	}
	fmt.Fprintf(e.stdout, "Clinic %q, workstation %s: the database opens with %s.\n", c.Name(), c.Node().ID, how)
	if len(rep.Integrity) == 0 {
		fmt.Fprintln(e.stdout, "Database integrity: ok (SQLite integrity check and SQLCipher page authentication).")
	}
	for _, p := range rep.Integrity {
		fmt.Fprintf(e.stdout, "Database integrity PROBLEM: %s\n", p)
	}
	printAuditReport(e.stdout, rep.Audit)
	if c.OpenedWithKit() {
		fmt.Fprintf(e.stdout, "To put the key back in this workstation's keyring: ward --data %s --kit %s recover\n", e.dataDir, e.kitPath)
	}
	if !rep.OK() {
		return failedError{}
	}
	return nil
}

func (e *env) cmdRecover(args []string) error {
	if _, err := e.parseFlags(flag.NewFlagSet("recover", flag.ContinueOnError), args, 0); err != nil {
		return err
	}
	if e.kitPath == "" {
		return usagef("recover needs the emergency kit: ward --data DIR --kit FILE recover")
	}
	// Read the code once and use it for both steps.
	code, err := e.secret("Recovery code")
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "Opening the emergency kit (this takes a few seconds)…")
	c, err := app.OpenWithKit(e.ctx, e.dataDir, e.kitPath, code, e.keyring)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.RestoreKey(e.ctx, e.kitPath, code); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "The database key of clinic %q is back in the OS keyring; Ward opens normally again.\n", c.Name())
	return nil
}

func (e *env) cmdRekey(args []string) error {
	fs := flag.NewFlagSet("rekey", flag.ContinueOnError)
	sheet := fs.String("kit-sheet", "", "")
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	c, s, err := e.signIn()
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintln(e.stderr, "Re-encrypting the database under a new key…")
	code, err := s.Rekey(e.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "The database key was rotated: the old key and the old emergency kit no longer open it.")
	fmt.Fprintln(e.stdout, "Backups made before now still restore only with the OLD recovery code: keep it until they have rotated out.")
	return e.printRecoveryCode(c, code, *sheet)
}

func (e *env) cmdDemo(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	n := fs.Int("patients", 200, "")
	sheet := fs.String("kit-sheet", "", "")
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *n < 0 || *n > 5_000_000 {
		return usagef("demo --patients takes a number from 0 to 5000000")
	}
	if *sheet != "" && store.Exists(e.dataDir) {
		return usagef("demo --kit-sheet: the demo clinic in %s exists already; its recovery code was shown when it was made", e.dataDir)
	}
	var c *app.Clinic
	var err error
	if store.Exists(e.dataDir) {
		if c, err = app.Open(e.ctx, e.dataDir, e.keyring); err != nil {
			return err
		}
		defer c.Close()
		if demo, err := c.IsDemo(e.ctx); err != nil {
			return err
		} else if !demo {
			return app.ErrNotDemo
		}
	} else {
		fmt.Fprintln(e.stderr, "Creating the demo clinic…")
		var code string
		if c, code, err = app.InitDemo(e.ctx, e.dataDir, e.keyring); err != nil {
			return err
		}
		defer c.Close()
		fmt.Fprintf(e.stdout, "Demo clinic %q created in %s. Accounts: admin, frontdesk, clinician, security; password %q.\n",
			c.Name(), c.Dir(), app.DemoPassword)
		if err := e.printRecoveryCode(c, code, *sheet); err != nil {
			return err
		}
	}
	if *n == 0 {
		return nil
	}
	s, err := c.SignIn(e.ctx, app.DemoUsers[0].Username, app.DemoPassword)
	if err != nil {
		return err
	}
	have, err := c.PatientCount(e.ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	ps := app.SyntheticPatients(*n, uint64(have)+1, 10_000_000+have)
	err = s.ImportPatients(e.ctx, ps, func(done int) {
		fmt.Fprintf(e.stderr, "\rAdding synthetic patients: %d of %d", done, *n)
	})
	fmt.Fprintln(e.stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Added %d synthetic patients in %.1f s (the clinic now has %d).\n", *n, time.Since(start).Seconds(), have+*n)
	ids := make([]string, min(len(ps), 12))
	for i := range ids {
		ids[i] = ps[i].ID
	}
	return c.AddDemoDay(e.ctx, ids)
}
