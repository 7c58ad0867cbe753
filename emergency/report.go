package emergency

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"ward/store"
	"ward/store/audit"
)

// The 164.312 evidence report (issue 6, item 5): for each standard and
// implementation specification of the HIPAA technical safeguards, what Ward
// does and what this clinic's own data shows. app reads the Facts through
// the audited door; BuildReport turns them into checks; WriteHTML and
// WriteJSON render the same Report. Nothing here reads a database, and no
// fact names a patient: people appear by username and role only.

// Status is the outcome of one check.
type Status string

const (
	Pass Status = "pass"
	Warn Status = "warn" // worth an officer's attention; not a gap by itself
	Fail Status = "fail" // a gap: Action says what to do
)

// Check is one piece of live evidence and what it shows.
type Check struct {
	Name     string   `json:"name"`
	Status   Status   `json:"status"`
	Evidence []string `json:"evidence"`
	Table    *Table   `json:"table,omitempty"`
	Action   string   `json:"action,omitempty"` // what to do, for warn and fail
}

// Table is evidence best read as rows (people and their roles, peers).
type Table struct {
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// Standard is one standard or implementation specification of 164.312.
type Standard struct {
	Ref      string  `json:"ref"`  // "164.312(a)(2)(i)"
	Name     string  `json:"name"` // "Unique user identification"
	Kind     string  `json:"kind"` // "standard", "required" or "addressable"
	WardDoes string  `json:"ward_does"`
	Checks   []Check `json:"checks"`
}

// Counts are the checks by status.
type Counts struct {
	Pass int `json:"pass"`
	Warn int `json:"warn"`
	Fail int `json:"fail"`
}

// Report is the evidence report of one workstation at one moment.
type Report struct {
	Title       string     `json:"title"`
	Clinic      string     `json:"clinic"`
	Workstation string     `json:"workstation"`
	Generated   time.Time  `json:"generated"`
	By          string     `json:"generated_by"` // username (roles)
	Counts      Counts     `json:"summary"`
	Standards   []Standard `json:"standards"`
}

// Summary is the report's outcome in a few words, for the audit entry and
// the screen: "9 pass, 2 warn, 1 fail".
func (r Report) Summary() string {
	return fmt.Sprintf("%d pass, %d warn, %d fail", r.Counts.Pass, r.Counts.Warn, r.Counts.Fail)
}

// Facts are what app read from the clinic for the report, all of it live.
type Facts struct {
	Clinic      string
	Workstation string // this workstation's name
	NodeID      string
	Now         time.Time // times in the report are shown in its location
	By          Person    // who asked for the report

	People          []Person      // every account, disabled ones too
	Idle            []RoleTimeout // every role, in screen order
	LockOnFocusLoss bool          // sessions lock when the window loses focus
	PINWindow       time.Duration // how long after a password sign-in a PIN may unlock
	TOTPRoles       []string      // roles that must use a second factor
	Database        DatabaseFacts
	Keyring         KeyringFacts
	Kit             KitFacts
	Audit           AuditFacts
	Grants          GrantFacts
	Replica         ReplicaFacts
	Backups         BackupFacts
}

// Person is an account as the report names it: username and roles only.
type Person struct {
	Username          string
	Roles             []string
	Disabled          bool
	SecondFactor      bool // a TOTP second factor is in force
	NeedsSecondFactor bool // one of their roles must use one
}

// RoleTimeout is a role's idle timeout.
type RoleTimeout struct {
	Role    string
	Timeout time.Duration
}

// DatabaseFacts are the database file's encryption and soundness.
type DatabaseFacts struct {
	File          string   // the file's path
	FileProblem   string   // "" when the file is SQLCipher ciphertext; else why not
	Integrity     []string // problems PRAGMA integrity_check found
	Pages         []string // problems PRAGMA cipher_integrity_check (page HMACs) found
	OpenedWithKit bool     // this run opened it with the emergency kit, not the keyring
}

// KeyringFacts say where the database key is kept.
type KeyringFacts struct {
	Name     string // "Secret Service (D-Bus)", …
	OS       bool   // the operating system's keyring, not a stand-in
	HoldsKey bool   // it holds an entry for this data folder
	Problem  string // why it could not be asked, if it could not
}

// KitFacts are the emergency kit file's header.
type KitFacts struct {
	Path      string
	Problem   string // "" when the kit was read; else why not
	Clinic    string
	Node      string
	Time      uint32 // argon2id passes
	MemoryKiB uint32
	Threads   uint8
}

// AuditFacts are the audit chains' verification and who looked at them.
type AuditFacts struct {
	Verify     audit.Report
	NodeNames  map[string]string // node id → workstation name
	LastExport *AuditEvent       // newest successful audit.export; nil: never
	LastReview *AuditEvent       // newest successful audit.read; nil: never
}

// AuditEvent is one audit entry as the report tells it.
type AuditEvent struct {
	At     time.Time
	By     Person
	Detail string // Ward's own words (counts, formats); never patient data
}

// GrantFacts sum up the break-glass grants and their reviews.
type GrantFacts struct {
	Total          int
	Running        int
	Reviewed       int
	Pending        int // not reviewed yet
	Overdue        int // not reviewed within ReviewWithin of starting
	NotAppropriate int // reviewed as not appropriate
	ReviewWithin   time.Duration
}

// SummarizeGrants counts grants (as tx.Grants lists them) for the report:
// the counts only, as each grant names a patient.
func SummarizeGrants(gs []store.Grant, now time.Time, within time.Duration) GrantFacts {
	f := GrantFacts{Total: len(gs), ReviewWithin: within}
	for _, g := range gs {
		if StateAt(g, now) == Running {
			f.Running++
		}
		switch {
		case g.Review != nil:
			f.Reviewed++
			if g.Review.Disposition == NotAppropriate {
				f.NotAppropriate++
			}
		case ReviewOverdue(g, now, within):
			f.Pending++
			f.Overdue++
		default:
			f.Pending++
		}
	}
	return f
}

// ReplicaFacts are the peers and how this workstation talks to them.
type ReplicaFacts struct {
	Listen        string // the address peers dial
	LANDiscovery  bool
	Peers         []Peer
	BackupPeers   []store.BackupPeer
	CertPresent   bool        // the TLS device certificate and key exist
	CertKeyMode   os.FileMode // the key file's permissions
	ClinicKey     bool        // the clinic key (seals segments) is present
	Segments      uint64      // segments this workstation has sealed and signed
	LastSegment   time.Time   // when the newest of them was made
	Quarantined   int         // peers' segments refused here
	QuarantinedBy []string    // their workstations' names
}

// Peer is another workstation of the clinic.
type Peer struct {
	NodeID      string
	Name        string
	Revoked     bool
	Paired      bool     // its device (certificate) is known
	Addresses   []string // none: found by LAN discovery
	Connected   bool     // the running node is connected to it now
	LastSeen    time.Time
	LastSegment time.Time // newest of its segments here
}

// BackupFacts are this workstation's backups and restore drills.
type BackupFacts struct {
	Folder    string // "" = scheduled backups are off
	LastGood  *store.BackupRun
	LastTry   *store.BackupRun
	LastDrill *store.BackupRun
	Problems  []string // what an administrator should do, as sentences
}

// Thresholds of the rules.
const (
	// maxIdle: longer idle timeouts are flagged (Ward's default is 15 min).
	maxIdle = 15 * time.Minute
	// reviewEvery: the audit log should be read at least this often.
	reviewEvery = 31 * 24 * time.Hour
	// kitMinMemoryKiB: DESIGN.md §2, the kit's argon2id is ≥ 256 MiB.
	kitMinMemoryKiB = 256 * 1024
)

// BuildReport applies the rules to the facts.
func BuildReport(f Facts) Report {
	r := Report{
		Title:       "HIPAA 164.312 technical safeguards: evidence report",
		Clinic:      f.Clinic,
		Workstation: fmt.Sprintf("%s (node %s)", f.Workstation, f.NodeID),
		Generated:   f.Now,
		By:          who(f.By),
	}
	r.Standards = []Standard{
		{Ref: "164.312(a)(1)", Name: "Access control", Kind: "standard",
			WardDoes: "Every read and write of a record goes through one door that checks the person's roles against one permission table " +
				"and writes the audit entry in the same transaction. A restricted chart opens only to the clinicians named for it.",
			Checks: []Check{rolesCheck(f)}},
		{Ref: "164.312(a)(2)(i)", Name: "Unique user identification", Kind: "required",
			WardDoes: "Each person signs in with their own username; usernames are unique whatever their case, and accounts are never deleted, " +
				"only disabled, so every audit entry names one person. Work the workstation does by itself is recorded as \"system\", " +
				"work after opening with the emergency kit as \"emergency-kit\".",
			Checks: []Check{uniqueCheck(f), disabledCheck(f)}},
		{Ref: "164.312(a)(2)(ii)", Name: "Emergency access procedure", Kind: "required",
			WardDoes: "A person denied a chart can open it by break-glass: a coded reason, one patient, a grant that expires by itself, " +
				"every access under it audited, and each grant reviewed by a security officer. When the keyring or the workstation is lost, " +
				"the emergency kit and its recovery code open a read-only copy; scheduled backups and restore drills keep a copy known to restore.",
			Checks: []Check{grantsCheck(f), backupsCheck(f)}},
		{Ref: "164.312(a)(2)(iii)", Name: "Automatic logoff", Kind: "addressable",
			WardDoes: "A session locks after the idle time set for the person's roles (the shortest of them), measured on the wall clock " +
				"so a machine that slept locks too; the lock screen shows no patient data. A PIN unlocks only within a window after a " +
				"password sign-in on the same workstation.",
			Checks: []Check{idleCheck(f)}},
		{Ref: "164.312(a)(2)(iv)", Name: "Encryption and decryption", Kind: "addressable",
			WardDoes: "The database is one SQLCipher 4 file (AES-256, an HMAC on every page) opened with a random 256-bit raw key that " +
				"is kept in the operating system's keyring, never in a file. The emergency kit wraps the same key with a recovery code " +
				"through argon2id (at least 256 MiB) and XChaCha20-Poly1305.",
			Checks: []Check{databaseCheck(f), keyringCheck(f), kitCheck(f)}},
		{Ref: "164.312(b)", Name: "Audit controls", Kind: "standard",
			WardDoes: "Every read, write, sign-in, refusal and failure is an entry in a hash chain per workstation (SHA-256 over the " +
				"previous hash and the entry). Each workstation signs checkpoints with its Ed25519 key and peers keep each other's, so an " +
				"edited, removed, inserted, reordered or truncated entry is found. Exports carry a signed manifest anyone can check.",
			Checks: []Check{chainCheck(f), checkpointCheck(f), reviewCheck(f)}},
		{Ref: "164.312(c)(1)", Name: "Integrity", Kind: "standard",
			WardDoes: "A signed note is never changed: an amendment is a new version that points at the old one. Every change is a row " +
				"of the change log with its origin and time, and the audit chain says who made it.",
			Checks: []Check{integrityCheck(f)}},
		{Ref: "164.312(c)(2)", Name: "Mechanism to authenticate electronic protected health information", Kind: "addressable",
			WardDoes: "SQLCipher authenticates every database page with HMAC-SHA512 before using it, so a page changed outside Ward is " +
				"refused; the audit chain's hashes and signed checkpoints authenticate the log (164.312(b)).",
			Checks: []Check{pagesCheck(f)}},
		{Ref: "164.312(d)", Name: "Person or entity authentication", Kind: "standard",
			WardDoes: "Passwords follow NIST SP 800-63B (length, a blocklist) and are stored as argon2id hashes; wrong attempts pause and " +
				"then lock the account, and the counters survive restarts. A second factor (TOTP, RFC 6238) is required for the roles " +
				"an administrator names. Workstations prove themselves with their Ed25519 keys and TLS device certificates.",
			Checks: []Check{totpCheck(f)}},
		{Ref: "164.312(e)(1)", Name: "Transmission security", Kind: "standard",
			WardDoes: "Workstations exchange only sealed segment files, over Syncthing's TLS connections between devices that know each " +
				"other's certificate. Ward sets Syncthing up for a closed LAN: no global discovery, relays, NAT traversal, usage " +
				"reports or upgrades, and no web GUI or API. A new workstation joins only with a one-time invite an administrator approves.",
			Checks: []Check{peersCheck(f), certCheck(f)}},
		{Ref: "164.312(e)(2)(i)", Name: "Integrity controls", Kind: "addressable",
			WardDoes: "Every segment is signed with its workstation's Ed25519 key. A peer applies segments only from workstations of the " +
				"clinic, in order, and quarantines one with a bad signature, a gap or damage instead of applying part of it.",
			Checks: []Check{segmentsCheck(f)}},
		{Ref: "164.312(e)(2)(ii)", Name: "Encryption", Kind: "addressable",
			WardDoes: "Segments are sealed end to end with XChaCha20-Poly1305 under a key derived from the clinic key, which lives only " +
				"inside the encrypted databases and reaches a new workstation only inside an approved pairing (TLS 1.3). Untrusted " +
				"backup peers receive encrypted folders only.",
			Checks: []Check{clinicKeyCheck(f)}},
	}
	for _, s := range r.Standards {
		for _, c := range s.Checks {
			switch c.Status {
			case Pass:
				r.Counts.Pass++
			case Warn:
				r.Counts.Warn++
			default:
				r.Counts.Fail++
			}
		}
	}
	return r
}

// roleWords are the roles as people say them (singular, plural).
var roleWords = map[string][2]string{
	"frontdesk": {"front desk", "front desk staff"},
	"clinician": {"clinician", "clinicians"},
	"security":  {"security officer", "security officers"},
	"admin":     {"administrator", "administrators"},
}

func roleWord(role string, n int) string {
	w, ok := roleWords[role]
	if !ok {
		return role
	}
	if n == 1 {
		return w[0]
	}
	return w[1]
}

func roleList(roles []string) string {
	words := make([]string, len(roles))
	for i, r := range roles {
		words[i] = roleWord(r, 1)
	}
	return strings.Join(words, ", ")
}

func who(p Person) string {
	if len(p.Roles) == 0 {
		return p.Username
	}
	return p.Username + " (" + roleList(p.Roles) + ")"
}

func (f Facts) when(t time.Time) string {
	if loc := f.Now.Location(); loc != nil {
		t = t.In(loc)
	}
	return t.Format("2006-01-02 15:04 MST")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (f Facts) active() []Person {
	var out []Person
	for _, p := range f.People {
		if !p.Disabled {
			out = append(out, p)
		}
	}
	return out
}

// holders lists the active people holding role.
func (f Facts) holders(role string) []string {
	var out []string
	for _, p := range f.active() {
		if slices.Contains(p.Roles, role) {
			out = append(out, p.Username)
		}
	}
	return out
}

func rolesCheck(f Facts) Check {
	c := Check{Name: "Who holds which role", Status: Pass,
		Table: &Table{Columns: []string{"Username", "Roles", "Account", "Second factor"}}}
	for _, p := range f.People {
		state := "active"
		if p.Disabled {
			state = "disabled"
		}
		c.Table.Rows = append(c.Table.Rows, []string{p.Username, roleList(p.Roles), state, onOff(p.SecondFactor)})
	}
	c.Evidence = append(c.Evidence, fmt.Sprintf("%s: %d active, %d disabled.",
		plural(len(f.People), "account", "accounts"), len(f.active()), len(f.People)-len(f.active())))
	var per []string
	for _, r := range f.Idle { // every role, in screen order
		n := len(f.holders(r.Role))
		per = append(per, fmt.Sprintf("%d %s", n, roleWord(r.Role, n)))
	}
	c.Evidence = append(c.Evidence, "Active accounts per role: "+strings.Join(per, ", ")+".")
	var missing []string
	for _, role := range []string{"admin", "security"} {
		if len(f.holders(role)) == 0 {
			missing = append(missing, role)
		}
	}
	if len(missing) > 0 {
		c.Status = Fail
		c.Action = fmt.Sprintf("No active account holds the %s role: give it to a person who should have it "+
			"(ward --user ADMIN user roles USERNAME --role …, or People on the Admin screen).", roleList(missing))
	}
	return c
}

func uniqueCheck(f Facts) Check {
	c := Check{Name: "One account per person", Status: Pass}
	seen := map[string][]string{}
	var order []string
	for _, p := range f.People {
		k := strings.ToLower(p.Username)
		if seen[k] == nil {
			order = append(order, k)
		}
		seen[k] = append(seen[k], p.Username)
	}
	var dups []string
	for _, k := range order {
		if len(seen[k]) > 1 {
			dups = append(dups, strings.Join(seen[k], " and "))
		}
	}
	c.Evidence = append(c.Evidence, fmt.Sprintf("%s for %s.",
		plural(len(order), "distinct username", "distinct usernames"), plural(len(f.People), "account", "accounts")))
	if len(dups) > 0 {
		c.Status = Fail
		c.Evidence = append(c.Evidence, "Accounts that share a username (made on two workstations at once): "+strings.Join(dups, "; ")+".")
		c.Action = "Disable all but one account of each shared username and give each person their own (ward --user ADMIN user disable USERNAME)."
	}
	return c
}

func disabledCheck(f Facts) Check {
	c := Check{Name: "Disabled accounts", Status: Pass}
	var off []string
	for _, p := range f.People {
		if p.Disabled {
			off = append(off, who(p))
		}
	}
	if len(off) == 0 {
		c.Evidence = []string{"No account is disabled."}
	} else {
		c.Evidence = []string{"Disabled, and unable to sign in: " + strings.Join(off, "; ") + "."}
	}
	return c
}

func grantsCheck(f Facts) Check {
	c := Check{Name: "Break-glass grants reviewed"}
	g := f.Grants
	hours := int(g.ReviewWithin / time.Hour)
	c.Evidence = []string{
		fmt.Sprintf("%s in all, %d running now.", plural(g.Total, "grant", "grants"), g.Running),
		fmt.Sprintf("%d reviewed (%d of them found not appropriate), %d waiting for review, %d waiting longer than %d hours.",
			g.Reviewed, g.NotAppropriate, g.Pending, g.Overdue, hours),
	}
	c.Status = Pass
	if g.Overdue > 0 {
		c.Status = Fail
		c.Action = fmt.Sprintf("%s waited more than %d hours for review: a security officer reviews them "+
			"(Emergency reviews on the home screen, or ward --user OFFICER emergency review).", plural(g.Overdue, "grant has", "grants have"), hours)
	}
	return c
}

func backupsCheck(f Facts) Check {
	b := f.Backups
	c := Check{Name: "Backups and restore drills", Status: Pass}
	if b.Folder == "" {
		c.Evidence = append(c.Evidence, "Scheduled backups are off (no backup folder is set).")
	} else {
		c.Evidence = append(c.Evidence, "Scheduled backups go to "+b.Folder+".")
	}
	run := func(what string, r *store.BackupRun) string {
		if r == nil {
			return what + ": none yet."
		}
		s := fmt.Sprintf("%s: %s, ", what, f.when(r.At))
		if r.OK {
			s += "succeeded"
		} else {
			s += "FAILED"
		}
		if r.Detail != "" {
			s += " (" + r.Detail + ")"
		}
		return s + "."
	}
	c.Evidence = append(c.Evidence, run("Last good backup", b.LastGood), run("Last restore drill", b.LastDrill))
	if b.LastTry != nil && !b.LastTry.OK {
		c.Evidence = append(c.Evidence, run("Last backup attempt", b.LastTry))
	}
	switch {
	case b.LastGood == nil || (b.LastTry != nil && !b.LastTry.OK) || (b.LastDrill != nil && !b.LastDrill.OK):
		c.Status = Fail
	case len(b.Problems) > 0:
		c.Status = Warn
	}
	if len(b.Problems) > 0 {
		c.Action = capitalize(strings.Join(b.Problems, "; ")) + "."
	}
	return c
}

func idleCheck(f Facts) Check {
	c := Check{Name: "Idle timeout per role", Status: Pass, Table: &Table{Columns: []string{"Role", "Locks after", "Active accounts"}}}
	var long []string
	for _, r := range f.Idle {
		c.Table.Rows = append(c.Table.Rows, []string{roleWord(r.Role, 1), fmt.Sprintf("%d min", int(r.Timeout/time.Minute)),
			fmt.Sprint(len(f.holders(r.Role)))})
		if r.Timeout > maxIdle {
			long = append(long, r.Role)
		}
	}
	c.Evidence = []string{
		"A person with several roles gets the shortest of their timeouts.",
		"Lock when the window loses focus: " + onOff(f.LockOnFocusLoss) + ".",
		fmt.Sprintf("A PIN may unlock for %d hours after a password sign-in on the same workstation.", int(f.PINWindow/time.Hour)),
	}
	if len(long) > 0 {
		c.Status = Warn
		c.Action = fmt.Sprintf("Sessions of %s stay open longer than %d minutes when left alone: lower it "+
			"(ward --user ADMIN settings set session.idle-minutes.%s 15).", roleList(long), int(maxIdle/time.Minute), long[0])
	}
	return c
}

func databaseCheck(f Facts) Check {
	d := f.Database
	c := Check{Name: "Database file encrypted", Status: Pass}
	if d.FileProblem != "" {
		c.Status = Fail
		c.Evidence = []string{d.File + ": " + d.FileProblem + "."}
		c.Action = "Stop using this workstation for patient data and restore from an encrypted backup (ward restore)."
		return c
	}
	c.Evidence = []string{d.File + " has no plaintext SQLite header and is whole pages of ciphertext; it opened with its raw key."}
	if d.OpenedWithKit {
		c.Evidence = append(c.Evidence, "This run opened it with the emergency kit, not the keyring.")
	}
	return c
}

func keyringCheck(f Facts) Check {
	k := f.Keyring
	c := Check{Name: "Database key in the OS keyring", Status: Pass, Evidence: []string{"Keyring in use: " + k.Name + "."}}
	switch {
	case !k.OS:
		c.Status = Fail
		c.Action = "Run Ward with the operating system's keyring; a stand-in keyring keeps the key only while Ward runs."
	case k.Problem != "":
		c.Status = Fail
		c.Evidence = append(c.Evidence, "The keyring could not be asked: "+k.Problem+".")
		c.Action = "Unlock the keyring of this desktop session (or start it), then make this report again."
	case !k.HoldsKey:
		c.Status = Fail
		c.Evidence = append(c.Evidence, "The keyring holds no key for this data folder.")
		c.Action = "Put the key back from the emergency kit: ward --kit ward.kit recover."
	default:
		c.Evidence = append(c.Evidence, "It holds this data folder's key (the key itself is never shown).")
	}
	return c
}

func kitCheck(f Facts) Check {
	k := f.Kit
	c := Check{Name: "Emergency kit sealed", Status: Pass}
	if k.Problem != "" {
		c.Status = Fail
		c.Evidence = []string{k.Problem + "."}
		c.Action = "Make a new kit with ward rekey (it rotates the database key and writes a new kit and recovery code), " +
			"and keep the printed code in the clinic's safe."
		return c
	}
	c.Evidence = []string{
		fmt.Sprintf("%s: argon2id t=%d, m=%d MiB, p=%d; XChaCha20-Poly1305.", k.Path, k.Time, k.MemoryKiB/1024, k.Threads),
		fmt.Sprintf("Made for clinic %q, node %s.", k.Clinic, k.Node),
		"The recovery code is not kept on this computer: this report cannot see that it is in the clinic's safe.",
	}
	switch {
	case k.MemoryKiB < kitMinMemoryKiB:
		c.Status = Fail
		c.Action = "The kit's argon2id memory is below 256 MiB: make a new kit with ward rekey."
	case k.Node != f.NodeID:
		c.Status = Warn
		c.Action = "The kit was made for another workstation: make one for this workstation with ward rekey."
	}
	return c
}

func (f Facts) nodeName(id string) string {
	if n := f.Audit.NodeNames[id]; n != "" {
		return n + " (" + id + ")"
	}
	return id
}

func chainCheck(f Facts) Check {
	v := f.Audit.Verify
	c := Check{Name: "Audit chains verified", Status: Pass}
	var total uint64
	for _, ch := range v.Chains {
		total += ch.Entries
	}
	if v.Problem != nil {
		c.Status = Fail
		c.Evidence = []string{"NOT intact: " + v.Problem.Error() + "."}
		for _, p := range v.Problems {
			if p != *v.Problem {
				c.Evidence = append(c.Evidence, "Also: "+p.Error()+".")
			}
		}
		c.Action = "Keep this workstation as it is, export the audit log, and tell the person responsible for the clinic's security; " +
			"ward audit verify names the first damaged entry."
		return c
	}
	c.Evidence = []string{fmt.Sprintf("Intact: %s, %d entries, every hash and signed checkpoint checked just now.",
		plural(len(v.Chains), "chain", "chains"), total)}
	for _, ch := range v.Chains {
		cp := "no signed checkpoint yet"
		if ch.LastCheckpoint != nil {
			cp = fmt.Sprintf("last signed checkpoint at entry %d, %s", ch.LastCheckpoint.Seq, f.when(ch.LastCheckpoint.Time))
		}
		c.Evidence = append(c.Evidence, fmt.Sprintf("%s: %d entries, %s.", f.nodeName(ch.Node), ch.Entries, cp))
	}
	return c
}

func checkpointCheck(f Facts) Check {
	c := Check{Name: "This workstation's chain is signed", Status: Warn}
	for _, ch := range f.Audit.Verify.Chains {
		if ch.Node != f.NodeID {
			continue
		}
		if cp := ch.LastCheckpoint; cp != nil {
			c.Status = Pass
			c.Evidence = []string{fmt.Sprintf("Last signed checkpoint: entry %d of %d, %s.", cp.Seq, ch.HeadSeq, f.when(cp.Time))}
			return c
		}
	}
	c.Evidence = []string{"This workstation's chain has no signed checkpoint yet."}
	c.Action = "Checkpoints are signed every 1000 entries, once 10 minutes have passed since the last one, and with every replica segment: " +
		"keep Ward's window (or ward serve) running on this workstation so that its replica writes segments."
	return c
}

func reviewCheck(f Facts) Check {
	a := f.Audit
	c := Check{Name: "Audit log reviewed", Status: Pass}
	if e := a.LastReview; e != nil {
		c.Evidence = append(c.Evidence, fmt.Sprintf("Last read: %s by %s.", f.when(e.At), who(e.By)))
	} else {
		c.Evidence = append(c.Evidence, "Nobody has read the audit log yet.")
	}
	if e := a.LastExport; e != nil {
		c.Evidence = append(c.Evidence, fmt.Sprintf("Last export: %s by %s (%s).", f.when(e.At), who(e.By), e.Detail))
	} else {
		c.Evidence = append(c.Evidence, "The audit log has not been exported yet.")
	}
	if a.LastReview == nil || f.Now.Sub(a.LastReview.At) > reviewEvery {
		c.Status = Warn
		c.Action = "A security officer reads the audit log at least monthly (the Audit tab), looking at sign-in failures, " +
			"refusals and break-glass access."
	}
	return c
}

func integrityCheck(f Facts) Check {
	c := Check{Name: "Database integrity check", Status: Pass, Evidence: []string{"PRAGMA integrity_check: ok, run just now."}}
	if len(f.Database.Integrity) > 0 {
		c.Status = Fail
		c.Evidence = []string{"PRAGMA integrity_check found: " + strings.Join(f.Database.Integrity, "; ") + "."}
		c.Action = "Stop writing on this workstation, make a backup of it as it is, and restore the last good backup (ward restore)."
	}
	return c
}

func pagesCheck(f Facts) Check {
	c := Check{Name: "Every page authenticated", Status: Pass,
		Evidence: []string{"PRAGMA cipher_integrity_check: every page's HMAC verified, run just now."}}
	if len(f.Database.Pages) > 0 {
		c.Status = Fail
		c.Evidence = []string{"PRAGMA cipher_integrity_check found: " + strings.Join(f.Database.Pages, "; ") + "."}
		c.Action = "Pages were changed outside Ward or damaged on disk: keep the file for investigation and restore the last good backup (ward restore)."
	}
	return c
}

func totpCheck(f Facts) Check {
	c := Check{Name: "Second factor where required", Status: Pass}
	if len(f.TOTPRoles) == 0 {
		c.Status = Warn
		c.Evidence = []string{"No role must use a second factor."}
		c.Action = "Require a second factor at least for administrators and security officers " +
			"(ward --user ADMIN settings set auth.totp-required-roles admin,security)."
		return c
	}
	c.Evidence = []string{"Roles that must use a second factor: " + roleList(f.TOTPRoles) + "."}
	var must, has []string
	missing := map[string]int{}
	for _, p := range f.active() {
		if !p.NeedsSecondFactor {
			continue
		}
		must = append(must, p.Username)
		if p.SecondFactor {
			has = append(has, p.Username)
			continue
		}
		for _, r := range p.Roles {
			if slices.Contains(f.TOTPRoles, r) {
				missing[r]++
			}
		}
	}
	c.Evidence = append(c.Evidence, fmt.Sprintf("Must use one: %s. Have enrolled: %s.", listOrNone(must), listOrNone(has)))
	var gaps []string
	for _, r := range f.TOTPRoles {
		if n := missing[r]; n > 0 {
			gaps = append(gaps, fmt.Sprintf("%d %s", n, roleWord(r, n)))
		}
	}
	if len(gaps) > 0 {
		c.Status = Fail
		verb := "have"
		if len(must)-len(has) == 1 {
			verb = "has"
		}
		c.Action = fmt.Sprintf("%s %s no second factor: enroll them (Account → Second factor, or ward --user USERNAME user totp enroll); "+
			"Ward also asks them to at their next sign-in.", strings.Join(gaps, " and "), verb)
	}
	return c
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "nobody"
	}
	return strings.Join(xs, ", ")
}

// outsideLAN tells whether a peer address points outside private networks:
// a public IP address. Host names are the clinic's DNS and not judged here.
func outsideLAN(addr string) bool {
	if addr == "dynamic" {
		return false
	}
	u, err := url.Parse(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil {
		return false
	}
	return !(ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified())
}

func addresses(as []string) string {
	if len(as) == 0 {
		return "found on the LAN"
	}
	return strings.Join(as, " ")
}

func peersCheck(f Facts) Check {
	rp := f.Replica
	c := Check{Name: "Peers and where they are", Status: Pass}
	c.Evidence = []string{fmt.Sprintf("This workstation listens on %s; LAN discovery is %s.", rp.Listen, onOff(rp.LANDiscovery))}
	var outside []string
	if len(rp.Peers) > 0 {
		c.Table = &Table{Columns: []string{"Workstation", "Addresses", "Paired", "Connected", "Newest segment here"}}
	}
	for _, p := range rp.Peers {
		state := "no"
		switch {
		case p.Revoked:
			state = "removed from the clinic"
		case p.Connected:
			state = "yes"
		case !p.LastSeen.IsZero():
			state = "last seen " + f.when(p.LastSeen)
		}
		newest := "none"
		if !p.LastSegment.IsZero() {
			newest = f.when(p.LastSegment)
		}
		c.Table.Rows = append(c.Table.Rows, []string{p.Name + " (" + p.NodeID + ")", addresses(p.Addresses), yesNo(p.Paired), state, newest})
		for _, a := range p.Addresses {
			if !p.Revoked && outsideLAN(a) {
				outside = append(outside, a)
			}
		}
	}
	if len(rp.Peers) == 0 {
		c.Evidence = append(c.Evidence, "No other workstation: nothing leaves this one.")
	}
	for _, b := range rp.BackupPeers {
		c.Evidence = append(c.Evidence, fmt.Sprintf("Backup peer %s at %s receives encrypted copies only.", b.DeviceID, addresses(b.Addresses)))
		for _, a := range b.Addresses {
			if outsideLAN(a) {
				outside = append(outside, a)
			}
		}
	}
	if outside != nil {
		c.Status = Warn
		c.Evidence = append(c.Evidence, "Addresses outside private networks: "+strings.Join(outside, ", ")+".")
		c.Action = "Confirm each address outside the clinic network is reached through a VPN or link you control; " +
			"segments are sealed end to end either way."
	}
	return c
}

func certCheck(f Facts) Check {
	rp := f.Replica
	c := Check{Name: "TLS device certificate", Status: Pass}
	switch {
	case rp.CertPresent && rp.CertKeyMode&0o077 != 0:
		c.Status = Fail
		c.Evidence = []string{fmt.Sprintf("The device key is readable by others (permissions %v).", rp.CertKeyMode)}
		c.Action = "Make the device key private: chmod 600 on replica/syncthing/key.pem in the data folder."
	case rp.CertPresent:
		c.Evidence = []string{"This workstation's TLS certificate and private key are in the data folder (key permissions " +
			rp.CertKeyMode.String() + "); peers accept only the device ids the clinic approved."}
	case len(rp.Peers) == 0 && len(rp.BackupPeers) == 0:
		c.Evidence = []string{"No TLS certificate yet: this workstation has no peers and has not started its replica."}
	default:
		c.Status = Warn
		c.Evidence = []string{"This workstation has peers but no TLS certificate yet: its replica has not started."}
		c.Action = "Start Ward's window or ward serve on this workstation so it can exchange segments with its peers."
	}
	return c
}

func segmentsCheck(f Facts) Check {
	rp := f.Replica
	c := Check{Name: "Signed segments", Status: Pass}
	s := fmt.Sprintf("This workstation has sealed and signed %s", plural(int(rp.Segments), "segment", "segments"))
	if !rp.LastSegment.IsZero() {
		s += ", the newest " + f.when(rp.LastSegment)
	}
	c.Evidence = []string{s + "."}
	known := 0
	for _, p := range rp.Peers {
		if !p.Revoked {
			known++
		}
	}
	c.Evidence = append(c.Evidence, fmt.Sprintf("Segments are accepted from %s of the clinic whose signing keys are known here.",
		plural(known, "other workstation", "other workstations")))
	if rp.Quarantined > 0 {
		c.Status = Warn
		c.Evidence = append(c.Evidence, fmt.Sprintf("%s refused here (from %s).",
			plural(rp.Quarantined, "segment was", "segments were"), strings.Join(rp.QuarantinedBy, ", ")))
		c.Action = "See why with ward sync status (or the Workstations tab): send one back with ward sync retry once its cause is fixed, " +
			"or remove a workstation that should not be sending."
	} else {
		c.Evidence = append(c.Evidence, "No segment has been refused.")
	}
	return c
}

func clinicKeyCheck(f Facts) Check {
	c := Check{Name: "Segments sealed with the clinic key", Status: Pass,
		Evidence: []string{"The clinic key is present, inside the encrypted database only."}}
	if !f.Replica.ClinicKey {
		c.Status = Fail
		c.Evidence = []string{"This database has no clinic key: it cannot seal segments."}
		c.Action = "Open the clinic with a current Ward (it makes the key), or join the clinic again through pairing."
	}
	if n := len(f.Replica.BackupPeers); n > 0 {
		c.Evidence = append(c.Evidence, fmt.Sprintf("Backup peers (%d) receive each folder encrypted, with its own password derived from the clinic key.", n))
	}
	return c
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
