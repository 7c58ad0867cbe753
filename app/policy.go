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
	ActPatientCreate Action = "patient.create"
	ActPatientRead   Action = "patient.read"
	ActPatientSearch Action = "patient.search"
	ActPatientImport Action = "patient.import"
	ActUserCreate    Action = "user.create"
	ActUserList      Action = "user.list"
	ActSignIn        Action = "user.signin"
	ActAuditVerify   Action = "audit.verify"
	ActAuditExport   Action = "audit.export"
	ActClinicInit    Action = "clinic.init"
	ActClinicRekey   Action = "clinic.rekey"
	ActClinicCheck   Action = "clinic.check"
	ActSettingsEdit  Action = "clinic.settings"
	ActKitOpen       Action = "clinic.kit-open"
)

// permissions is the one table of who may do what. docs/roles.md shows it
// as a matrix; a test keeps the two in step.
var permissions = map[Action][]string{
	ActPatientCreate: {RoleFrontDesk, RoleClinician},
	ActPatientRead:   {RoleFrontDesk, RoleClinician},
	ActPatientSearch: {RoleFrontDesk, RoleClinician},
	ActPatientImport: {RoleAdmin},
	ActUserCreate:    {RoleAdmin, RoleSecurity},
	ActUserList:      {RoleAdmin, RoleSecurity},
	ActAuditVerify:   {RoleSecurity, RoleAdmin},
	ActAuditExport:   {RoleSecurity},
	ActClinicRekey:   {RoleAdmin},
	ActClinicCheck:   {RoleAdmin, RoleSecurity},
	ActSettingsEdit:  {RoleAdmin},
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
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("you are not allowed to do this (%s needs one of the roles %v; you have %v): ask the clinic's administrator",
		e.Action, permissions[e.Action], e.Roles)
}
