package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"ward/emergency"
	"ward/store"
	"ward/store/audit"
	"ward/sync/node"
)

// ComplianceReport makes the 164.312 evidence report of this workstation
// (security officers and administrators). Every fact is read now: the long
// reads (every audit chain, every database page, the replica's folders)
// run on the connection pool outside any write transaction, as VerifyAudit
// does, so the workstation stays usable meanwhile; the rest is read through
// the door, in the transaction that writes the report's one audit entry.
func (s *Session) ComplianceReport(ctx context.Context) (emergency.Report, error) {
	if err := s.active(ctx); err != nil {
		return emergency.Report{}, err
	}
	if err := s.authorize(ctx, ActComplianceReport, ""); err != nil {
		return emergency.Report{}, err
	}
	c := s.clinic
	f, looks, err := c.poolFacts(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.record(ctx, ActComplianceReport, "", audit.OutcomeFailure, "could not read the evidence")
		}
		return emergency.Report{}, err
	}
	f.By = emergency.Person{Username: s.user.Username, Roles: s.user.Roles}
	var rep emergency.Report
	err = s.Do(ctx, ActComplianceReport, "", func(tx *store.Tx, w *Work) error {
		if err := c.txFacts(tx, &f, looks); err != nil {
			return err
		}
		// Grants name patients: read here in the door, kept as counts only.
		gs, err := tx.Grants(store.GrantFilter{})
		if err != nil {
			return err
		}
		within, err := reviewWindow(tx)
		if err != nil {
			return err
		}
		f.Grants = emergency.SummarizeGrants(gs, f.Now, within)
		rep = emergency.BuildReport(f)
		w.Detail = "evidence report: " + rep.Summary()
		return nil
	})
	return rep, err
}

// auditLooks are the newest export and read of the audit log, as stored
// (user ids; the door transaction turns them into usernames).
type auditLooks struct{ export, review *audit.Entry }

// poolFacts reads what takes long or needs no transaction: the chains, the
// database's integrity and page checks, the files in the data folder, the
// keyring, the replica.
func (c *Clinic) poolFacts(ctx context.Context) (emergency.Facts, auditLooks, error) {
	f := emergency.Facts{Clinic: c.Name(), Workstation: c.Node().Name, NodeID: c.Node().ID, Now: c.now()}
	var looks auditLooks
	var err error
	if f.Audit.Verify, err = c.verifyChains(ctx, nil); err != nil {
		return f, looks, err
	}
	for _, act := range []Action{ActAuditExport, ActAuditRead} {
		page, err := audit.Page(ctx, c.db.AuditReader(), audit.Review{Action: string(act), Outcome: audit.OutcomeSuccess, Limit: 1})
		if err != nil {
			return f, looks, err
		}
		if len(page) == 1 && act == ActAuditExport {
			looks.export = &page[0]
		} else if len(page) == 1 {
			looks.review = &page[0]
		}
	}

	f.Database = emergency.DatabaseFacts{File: store.DBPath(c.Dir()), OpenedWithKit: c.viaKit}
	if err := store.CheckFile(c.Dir()); err != nil {
		f.Database.FileProblem = err.Error()
	}
	problems, err := c.db.IntegrityProblems(ctx)
	if err != nil {
		return f, looks, err
	}
	for _, p := range problems {
		if rest, ok := strings.CutPrefix(p, "cipher_integrity_check: "); ok {
			f.Database.Pages = append(f.Database.Pages, rest)
		} else {
			f.Database.Integrity = append(f.Database.Integrity, strings.TrimPrefix(p, "integrity_check: "))
		}
	}

	f.Keyring = keyringFacts(c.keyring, c.account)
	f.Kit = kitFacts(c.KitPath())

	rp := &f.Replica
	if rp.Listen, rp.LANDiscovery, err = c.syncListen(ctx); err != nil {
		return f, looks, err
	}
	st, err := c.replica().Status(ctx)
	if err != nil {
		return f, looks, err
	}
	rp.Segments, rp.LastSegment = st.Export.Segment, st.Export.Created
	rp.Quarantined = len(st.Quarantined)
	for _, p := range st.Peers {
		if p.Quarantined > 0 {
			rp.QuarantinedBy = append(rp.QuarantinedBy, firstNonEmpty(p.Name, p.Node))
		}
		if p.Known {
			rp.Peers = append(rp.Peers, emergency.Peer{NodeID: p.Node, Name: p.Name, Revoked: !p.RevokedAt.IsZero(), LastSegment: p.LastSegment})
		}
	}
	// The device key's file, as sync/node keeps it (loadOrMakeCert). Read,
	// not made: node.DeviceCertificate would make one, and the report would
	// then vouch for a certificate no peer has seen.
	if fi, err := os.Stat(filepath.Join(node.HomeDir(c.Dir()), "key.pem")); err == nil {
		rp.CertPresent, rp.CertKeyMode = true, fi.Mode().Perm()
	}
	key, err := c.db.ClinicSubkey(ctx, store.SubkeySegment)
	switch {
	case err == nil:
		rp.ClinicKey = true
		wipe(key)
	case !errors.Is(err, store.ErrNotFound):
		return f, looks, err
	}
	return f, looks, nil
}

// txFacts reads the staff, the settings, the workstations and the backups
// inside the report's door transaction.
func (c *Clinic) txFacts(tx *store.Tx, f *emergency.Facts, looks auditLooks) error {
	users, err := tx.Users()
	if err != nil {
		return err
	}
	for _, u := range users {
		cr, err := tx.Credentials(u.ID)
		if err != nil {
			return err
		}
		need, err := TOTPRequired(tx, u.Roles)
		if err != nil {
			return err
		}
		f.People = append(f.People, emergency.Person{Username: u.Username, Roles: u.Roles, Disabled: u.Disabled,
			SecondFactor: cr.TOTPEnabled, NeedsSecondFactor: need})
	}
	for _, r := range AllRoles {
		d, err := IdleTimeout(tx, []string{r})
		if err != nil {
			return err
		}
		f.Idle = append(f.Idle, emergency.RoleTimeout{Role: r, Timeout: d})
	}
	v, err := tx.Setting(SettingLockOnFocusLoss, settingDefault(SettingLockOnFocusLoss))
	if err != nil {
		return err
	}
	f.LockOnFocusLoss = v == "1"
	if f.PINWindow, err = PINWindow(tx); err != nil {
		return err
	}
	if v, err = tx.Setting(SettingTOTPRoles, ""); err != nil {
		return err
	}
	for _, r := range strings.Split(v, ",") {
		if r = strings.TrimSpace(r); r != "" {
			f.TOTPRoles = append(f.TOTPRoles, r)
		}
	}

	for _, look := range []struct {
		e  *audit.Entry
		to **emergency.AuditEvent
	}{{looks.export, &f.Audit.LastExport}, {looks.review, &f.Audit.LastReview}} {
		if look.e == nil {
			continue
		}
		by := emergency.Person{Username: look.e.User} // "system", or an account this workstation does not know
		if u, err := tx.UserByID(look.e.User); err == nil {
			by = emergency.Person{Username: u.Username, Roles: u.Roles}
		}
		*look.to = &emergency.AuditEvent{At: look.e.Time, By: by, Detail: look.e.Detail}
	}

	nodes, err := tx.ClinicNodes()
	if err != nil {
		return err
	}
	f.Audit.NodeNames = map[string]string{}
	for _, n := range nodes {
		f.Audit.NodeNames[n.ID] = n.Name
	}
	devices, err := tx.NodeDevices()
	if err != nil {
		return err
	}
	seen, err := tx.Transport()
	if err != nil {
		return err
	}
	for i := range f.Replica.Peers {
		p := &f.Replica.Peers[i]
		for _, d := range devices {
			if d.ID == p.NodeID {
				p.Paired, p.Addresses = d.DeviceID != "", d.Addresses
			}
		}
		for _, t := range seen {
			if !t.Self && !t.Backup && t.NodeID == p.NodeID {
				p.Connected, p.LastSeen = t.Connected, t.LastSeen
			}
		}
	}
	if f.Replica.BackupPeers, err = tx.BackupPeers(); err != nil {
		return err
	}

	st, err := readBackupStatus(tx, f.Now)
	if err != nil {
		return err
	}
	f.Backups = emergency.BackupFacts{Folder: st.Folder, LastGood: st.LastGood, LastTry: st.LastTry, LastDrill: st.LastDrill,
		Problems: st.Problems()}
	return nil
}

// keyringFacts says which keyring holds the database key, and whether it
// holds this data folder's (the key is read only to know, and wiped).
func keyringFacts(kr store.Keyring, account string) emergency.KeyringFacts {
	var k emergency.KeyringFacts
	switch kr.(type) {
	case store.OSKeyring, *store.OSKeyring:
		k.OS = true
		switch runtime.GOOS {
		case "darwin":
			k.Name = "the macOS Keychain"
		case "windows":
			k.Name = "the Windows Credential Manager"
		default:
			k.Name = "the Secret Service of the desktop session (D-Bus)"
		}
	default:
		k.Name = "a stand-in keyring inside Ward, not the operating system's"
	}
	key, err := kr.Get(account)
	switch {
	case err == nil:
		k.HoldsKey = true
		wipe(key)
	case errors.Is(err, store.ErrKeyMissing):
	default:
		k.Problem = err.Error()
	}
	return k
}

// kitFacts reads the emergency kit's header (its cost and whom it is for);
// the sealed key stays sealed.
func kitFacts(path string) emergency.KitFacts {
	k := emergency.KitFacts{Path: path}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		k.Problem = "there is no emergency kit file at " + path
		return k
	}
	kit, err := store.ReadKitFile(path)
	if err != nil {
		k.Problem = err.Error()
		return k
	}
	k.Clinic, k.Node, k.Time, k.MemoryKiB, k.Threads = kit.Clinic, kit.Node, kit.Time, kit.Memory, kit.Threads
	return k
}
