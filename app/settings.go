package app

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"ward/emergency"
	"ward/store"
)

// Clinic settings an administrator sets (`ward settings set`, the admin
// screen). They replicate like any record. Each has a default, bounds, and
// a sentence for a value out of bounds.
const (
	// SettingIdlePrefix + role: minutes of no input before a session locks (1–60, default 15).
	SettingIdlePrefix = "session.idle-minutes."
	// SettingPINWindow: hours after a password sign-in on a workstation during
	// which the PIN may unlock that person's locked session there (1–24, default 8).
	SettingPINWindow = "session.pin-window-hours"
	// SettingTOTPRoles: comma-separated roles that must use a second factor.
	SettingTOTPRoles = "auth.totp-required-roles"
	// SettingLockOnFocusLoss: "1" locks a session when its window loses focus.
	SettingLockOnFocusLoss = "session.lock-on-focus-loss"

	// Scheduled backups (backup.go, schedule.go).
	// SettingBackupFolder: where scheduled backups are written, an absolute
	// path (another disk); empty = no scheduled backups.
	SettingBackupFolder = "backup.folder"
	// SettingBackupInterval: hours between scheduled backups (1–168, default 24).
	SettingBackupInterval = "backup.interval-hours"
	// SettingBackupKeep: how many of this workstation's scheduled backups the
	// folder keeps; older ones are removed (1–365, default 14).
	SettingBackupKeep = "backup.keep"
	// SettingDrillInterval: days between scheduled restore drills (1–90, default 7).
	SettingDrillInterval = "backup.drill-interval-days"

	// Emergency access (emergency.go).
	// SettingEmergencyMinutes: how long a break-glass grant opens a chart (5–480, default 60).
	SettingEmergencyMinutes = "emergency.grant-minutes"
	// SettingEmergencyReviewHours: a grant not reviewed this many hours after
	// it began is flagged overdue (1–720, default 72).
	SettingEmergencyReviewHours = "emergency.review-hours"
	// SettingEmergencyRoles: comma-separated roles that may use break-glass
	// (default clinician). A role without the chart in its permissions gets
	// the chart to read, never to write.
	SettingEmergencyRoles = "emergency.roles"
)

const (
	defaultIdleMinutes = 15
	defaultPINWindow   = 8
	defaultBackupHours = 24
	defaultBackupKeep  = 14
	defaultDrillDays   = 7
)

// IdleTimeout is how long a person holding roles may be idle before their
// session locks: the shortest timeout of their roles.
func IdleTimeout(tx *store.Tx, roles []string) (time.Duration, error) {
	best := 0
	for _, r := range roles {
		v, err := intSetting(tx, SettingIdlePrefix+r, defaultIdleMinutes)
		if err != nil {
			return 0, err
		}
		if best == 0 || v < best {
			best = v
		}
	}
	if best == 0 {
		best = defaultIdleMinutes
	}
	return time.Duration(best) * time.Minute, nil
}

// PINWindow is how long after a password sign-in the PIN may unlock.
func PINWindow(tx *store.Tx) (time.Duration, error) {
	h, err := intSetting(tx, SettingPINWindow, defaultPINWindow)
	return time.Duration(h) * time.Hour, err
}

// TOTPRequired tells whether any of roles must use a second factor.
func TOTPRequired(tx *store.Tx, roles []string) (bool, error) {
	v, err := tx.Setting(SettingTOTPRoles, "")
	if err != nil {
		return false, err
	}
	for _, need := range strings.Split(v, ",") {
		for _, r := range roles {
			if strings.TrimSpace(need) == r {
				return true, nil
			}
		}
	}
	return false, nil
}

func intSetting(tx *store.Tx, key string, def int) (int, error) {
	v, err := tx.Setting(key, strconv.Itoa(def))
	if err != nil {
		return def, err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def, nil // a damaged value falls back to the safe default
	}
	return n, nil
}

// ValidateSetting checks a value an administrator gives, with a sentence
// that says what is allowed. Unknown keys are refused.
func ValidateSetting(key, value string) error {
	between := func(lo, hi int, what string) error {
		n, err := strconv.Atoi(value)
		if err != nil || n < lo || n > hi {
			return &ValidationError{key, fmt.Sprintf("%s is a whole number from %d to %d", what, lo, hi)}
		}
		return nil
	}
	switch {
	case strings.HasPrefix(key, SettingIdlePrefix):
		if !ValidRole(strings.TrimPrefix(key, SettingIdlePrefix)) {
			return &ValidationError{key, "the idle timeout is set per role: " + SettingIdlePrefix + "ROLE, ROLE one of " + strings.Join(AllRoles, ", ")}
		}
		return between(1, 60, "the idle timeout in minutes")
	case key == SettingPINWindow:
		return between(1, 24, "the PIN window in hours")
	case key == SettingEmergencyMinutes:
		return between(5, 480, "the length of an emergency grant in minutes")
	case key == SettingEmergencyReviewHours:
		return between(1, 720, "the hours within which an emergency grant is to be reviewed")
	case key == SettingTOTPRoles, key == SettingEmergencyRoles:
		for _, r := range strings.Split(value, ",") {
			if r = strings.TrimSpace(r); r != "" && !ValidRole(r) {
				return &ValidationError{key, fmt.Sprintf("%q is not a role; the roles are %s", r, strings.Join(AllRoles, ", "))}
			}
		}
		return nil
	case key == SettingLockOnFocusLoss:
		if value != "0" && value != "1" {
			return &ValidationError{key, "use 1 (lock when the window loses focus) or 0"}
		}
		return nil
	case key == SettingBackupFolder:
		if value != "" && (!filepath.IsAbs(value) || strings.ContainsAny(value, "\r\n")) {
			return &ValidationError{key, "the backup folder is an absolute path (e.g. /media/backup/ward), or empty to turn scheduled backups off"}
		}
		return nil
	case key == SettingStaleAfter:
		return between(5, 1440, "the minutes without news from the other workstations before Ward warns")
	case key == SettingBackupInterval:
		return between(1, 168, "the backup interval in hours")
	case key == SettingBackupKeep:
		return between(1, 365, "the number of backups to keep")
	case key == SettingDrillInterval:
		return between(1, 90, "the restore drill interval in days")
	}
	return &ValidationError{key, "Ward has no such setting; the settings are " + strings.Join(SettingKeys(), ", ")}
}

// SettingKeys lists every setting an administrator may set.
func SettingKeys() []string {
	keys := []string{}
	for _, r := range AllRoles {
		keys = append(keys, SettingIdlePrefix+r)
	}
	keys = append(keys, SettingStaleAfter)
	return append(keys, SettingPINWindow, SettingTOTPRoles, SettingLockOnFocusLoss,
		SettingBackupFolder, SettingBackupInterval, SettingBackupKeep, SettingDrillInterval,
		SettingEmergencyMinutes, SettingEmergencyReviewHours, SettingEmergencyRoles)
}

// settingDefault is the value in force when a setting was never set.
func settingDefault(key string) string {
	switch {
	case strings.HasPrefix(key, SettingIdlePrefix):
		return strconv.Itoa(defaultIdleMinutes)
	case key == SettingPINWindow:
		return strconv.Itoa(defaultPINWindow)
	case key == SettingLockOnFocusLoss:
		return "0"
	case key == SettingStaleAfter:
		return strconv.Itoa(defaultStaleMinutes)
	case key == SettingBackupInterval:
		return strconv.Itoa(defaultBackupHours)
	case key == SettingBackupKeep:
		return strconv.Itoa(defaultBackupKeep)
	case key == SettingDrillInterval:
		return strconv.Itoa(defaultDrillDays)
	case key == SettingEmergencyMinutes:
		return strconv.Itoa(int(emergency.DefaultLength / time.Minute))
	case key == SettingEmergencyReviewHours:
		return strconv.Itoa(int(emergency.DefaultReviewWithin / time.Hour))
	case key == SettingEmergencyRoles:
		return RoleClinician
	}
	return ""
}
