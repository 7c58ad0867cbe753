package app

import "fmt"

// Roles a person can hold (several at once).
const (
	RoleFrontDesk = "frontdesk"
	RoleClinician = "clinician"
	RoleSecurity  = "security"
	RoleAdmin     = "admin"
)

// AllRoles in the order screens list them.
var AllRoles = []string{RoleFrontDesk, RoleClinician, RoleSecurity, RoleAdmin}

// Action names one kind of operation. They appear in the audit chain and in
// the FHIR export (store/audit maps their prefixes to DICOM event codes).
type Action string

const (
	// Demographics and the front desk.
	ActPatientCreate Action = "patient.create"
	ActPatientRead   Action = "patient.read" // demographics, and the "has allergies" flag
	ActPatientUpdate Action = "patient.update"
	ActPatientMerge  Action = "patient.merge"
	ActPatientSearch Action = "patient.search"
	ActPatientImport Action = "patient.import"
	ActPatientAccess Action = "patient.restrict" // mark restricted, name who may see the chart

	ActAppointmentRead  Action = "appointment.read"
	ActAppointmentWrite Action = "appointment.write" // book, check in, no-show, cancel

	// The chart.
	ActChartRead       Action = "chart.read" // encounters, notes, allergies, medications, problems
	ActEncounterWrite  Action = "encounter.write"
	ActNoteWrite       Action = "note.write" // draft, edit a draft
	ActNoteSign        Action = "note.sign"
	ActNoteAmend       Action = "note.amend"
	ActAllergyWrite    Action = "allergy.write"
	ActMedicationWrite Action = "medication.write"
	ActProblemWrite    Action = "problem.write"

	// People.
	ActSignIn        Action = "user.signin"
	ActSignOut       Action = "user.signout"
	ActLock          Action = "user.lock"
	ActUnlock        Action = "user.unlock" // PIN or password at the lock screen
	ActPasswordSet   Action = "user.password"
	ActPINSet        Action = "user.pin"
	ActTOTPEnroll    Action = "user.totp"
	ActUserCreate    Action = "user.create"
	ActUserList      Action = "user.list"
	ActUserDisable   Action = "user.disable"
	ActUserEnable    Action = "user.enable"
	ActUserRoles     Action = "user.roles"
	ActPasswordReset Action = "user.reset-password"
	ActUserUnlock    Action = "user.unlock-account" // lift a lockout
	ActLockout       Action = "user.lockout"        // Ward paused or locked an account after failures

	// Security and the clinic.
	ActAuditVerify  Action = "audit.verify"
	ActAuditExport  Action = "audit.export"
	ActAuditRead    Action = "audit.read"
	ActClinicInit   Action = "clinic.init"
	ActClinicRekey  Action = "clinic.rekey"
	ActClinicCheck  Action = "clinic.check"
	ActSettingsEdit Action = "clinic.settings"
	ActKitOpen      Action = "clinic.kit-open"

	// Backups (issue 7). A restore needs the recovery code, not a role: it
	// is recorded in the restored chain as the emergency kit's work.
	ActBackup       Action = "backup.create"
	ActBackupVerify Action = "backup.verify" // a restore drill
	ActBackupStatus Action = "backup.status"
	ActRestore      Action = "backup.restore"

	// The replica (issue 5). replica.* entries are the workstation's own
	// work (user "system"): replica.apply (a peer's segment applied),
	// replica.quarantine (one refused), replica.retry (one sent back),
	// replica.join (started from a peer's snapshot).
	ActSyncStatus  Action = "sync.status"
	ActSyncApprove Action = "sync.approve" // admit a workstation, hand it the clinic key and a snapshot
	ActSyncRemove  Action = "sync.remove"  // revoke a lost or stolen workstation
	ActSyncRetry   Action = "sync.retry"   // send a refused segment back to be applied
	// The transport and pairing (sync/node). sync.join is the workstation's
	// own record (user "system") of a join request and how it ended.
	ActSyncInvite     Action = "sync.invite"      // make a one-time invite code for a new workstation
	ActSyncBackupPeer Action = "sync.backup-peer" // add or remove an untrusted backup peer (a NAS)
	ActSyncConfig     Action = "sync.config"      // this workstation's listen address, LAN discovery
	ActSyncJoin       Action = "sync.join"

	// Emergency access (issue 6, package emergency). emergency.start and
	// emergency.end are FHIR AuditEvent DICOM 110113 with subtypes 110127 /
	// 110128 in the export. Who may start a grant is an administrator's
	// setting (SettingEmergencyRoles), not this table: see emergencyAllowed.
	ActEmergencyStart   Action = "emergency.start"    // break-glass: a grant to one patient's chart begins
	ActEmergencyEnd     Action = "emergency.end"      // a grant ended early by its holder, or it expired
	ActEmergencyReview  Action = "emergency.review"   // a security officer's disposition of a grant
	ActEmergencyList    Action = "emergency.list"     // the review queue and the grants themselves
	ActDowntimeSummary  Action = "emergency.downtime" // the printable downtime summary of a day's schedule
	ActComplianceReport Action = "compliance.report"  // the 164.312 evidence report
)

// permissions is the one table of who may do what. docs/roles.md shows it
// as a matrix; TestRolesDocMatchesPolicy keeps the two in step. Actions a
// person does to their own account (sign in, lock, set their PIN) are not
// here: every signed-in person may do them.
var permissions = map[Action][]string{
	ActPatientCreate: {RoleFrontDesk, RoleClinician},
	ActPatientRead:   {RoleFrontDesk, RoleClinician},
	ActPatientUpdate: {RoleFrontDesk, RoleClinician},
	ActPatientMerge:  {RoleFrontDesk},
	ActPatientSearch: {RoleFrontDesk, RoleClinician},
	ActPatientImport: {RoleAdmin},
	ActPatientAccess: {RoleSecurity},

	ActAppointmentRead:  {RoleFrontDesk, RoleClinician},
	ActAppointmentWrite: {RoleFrontDesk, RoleClinician},

	ActChartRead:       {RoleClinician},
	ActEncounterWrite:  {RoleClinician},
	ActNoteWrite:       {RoleClinician},
	ActNoteSign:        {RoleClinician},
	ActNoteAmend:       {RoleClinician},
	ActAllergyWrite:    {RoleClinician},
	ActMedicationWrite: {RoleClinician},
	ActProblemWrite:    {RoleClinician},

	ActUserCreate:    {RoleAdmin, RoleSecurity},
	ActUserList:      {RoleAdmin, RoleSecurity},
	ActUserDisable:   {RoleAdmin, RoleSecurity},
	ActUserEnable:    {RoleAdmin, RoleSecurity},
	ActUserRoles:     {RoleAdmin, RoleSecurity},
	ActPasswordReset: {RoleAdmin, RoleSecurity},
	ActUserUnlock:    {RoleAdmin, RoleSecurity},

	ActAuditVerify:  {RoleSecurity, RoleAdmin},
	ActAuditExport:  {RoleSecurity},
	ActAuditRead:    {RoleSecurity},
	ActClinicRekey:  {RoleAdmin},
	ActClinicCheck:  {RoleAdmin, RoleSecurity},
	ActSettingsEdit: {RoleAdmin},

	ActBackup:       {RoleAdmin, RoleSecurity},
	ActBackupVerify: {RoleAdmin, RoleSecurity},
	ActBackupStatus: {RoleAdmin, RoleSecurity},

	ActSyncStatus:  {RoleAdmin, RoleSecurity},
	ActSyncApprove: {RoleAdmin},
	ActSyncRemove:  {RoleAdmin},
	ActSyncRetry:   {RoleAdmin},

	ActSyncInvite:     {RoleAdmin},
	ActSyncBackupPeer: {RoleAdmin},
	ActSyncConfig:     {RoleAdmin},

	ActEmergencyReview:  {RoleSecurity},
	ActEmergencyList:    {RoleSecurity},
	ActDowntimeSummary:  {RoleClinician},
	ActComplianceReport: {RoleSecurity, RoleAdmin},
}

// Allowed tells whether someone holding roles may perform act.
func Allowed(roles []string, act Action) bool {
	for _, allowed := range permissions[act] {
		for _, r := range roles {
			if r == allowed {
				return true
			}
		}
	}
	return false
}

// ValidRole tells whether r is a role Ward knows.
func ValidRole(r string) bool {
	for _, k := range AllRoles {
		if k == r {
			return true
		}
	}
	return false
}

// DeniedError is returned when a person's roles do not allow an action. The
// attempt is in the audit chain with outcome "denied".
type DeniedError struct {
	Action Action
	Roles  []string
	Reason string // when the roles allow it but something else does not (a restricted chart)
	// BreakGlass: the person may open this chart with emergency access
	// (Session.BreakGlass); screens offer it.
	BreakGlass      bool
	restrictedChart bool
}

// auditDetail names why, for the audit entry.
func (e *DeniedError) auditDetail() string {
	if e.restrictedChart {
		return "restricted chart"
	}
	return "role not permitted"
}

func (e *DeniedError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("you are not allowed to do this: %s", e.Reason)
	}
	if e.BreakGlass {
		return "your role does not open patients' charts; in an emergency, use emergency access"
	}
	return fmt.Sprintf("you are not allowed to do this (%s needs one of the roles %v; you have %v): ask the clinic's administrator",
		e.Action, permissions[e.Action], e.Roles)
}
