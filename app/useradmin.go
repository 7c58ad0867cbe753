package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"ward/store"
)

// User administration (administrators and security officers). People are
// disabled, never deleted, so their id keeps its meaning in the audit chain.

// ErrLastAdmin protects a clinic from locking itself out.
var ErrLastAdmin = errors.New("this would leave the clinic without an active administrator: give someone else the admin role first")

func (s *Session) userByName(tx *store.Tx, username string) (store.User, error) {
	u, err := tx.UserByUsername(username)
	if errors.Is(err, store.ErrNotFound) {
		return u, &ValidationError{"username", fmt.Sprintf("there is no user %q", username)}
	}
	return u, err
}

// keepsAnAdmin fails when taking u's admin role or account away would leave
// no active administrator.
func keepsAnAdmin(tx *store.Tx, u store.User) error {
	if !u.HasRole(RoleAdmin) || u.Disabled {
		return nil
	}
	n, err := tx.CountActiveWithRole(RoleAdmin)
	if err != nil {
		return err
	}
	if n <= 1 {
		return ErrLastAdmin
	}
	return nil
}

// DisableUser deprovisions an account: it can no longer sign in.
func (s *Session) DisableUser(ctx context.Context, username string) error {
	return s.Do(ctx, ActUserDisable, "", func(tx *store.Tx, w *Work) error {
		u, err := s.userByName(tx, username)
		if err != nil {
			return err
		}
		if u.ID == s.user.ID {
			return &ValidationError{"username", "you cannot disable your own account"}
		}
		if err := keepsAnAdmin(tx, u); err != nil {
			return err
		}
		w.Detail = "disabled user " + u.ID
		return tx.SetUserDisabled(u.ID, true)
	})
}

// EnableUser re-enables a disabled account.
func (s *Session) EnableUser(ctx context.Context, username string) error {
	return s.Do(ctx, ActUserEnable, "", func(tx *store.Tx, w *Work) error {
		u, err := s.userByName(tx, username)
		if err != nil {
			return err
		}
		w.Detail = "enabled user " + u.ID
		return tx.SetUserDisabled(u.ID, false)
	})
}

// SetRoles replaces a person's roles.
func (s *Session) SetRoles(ctx context.Context, username string, roles []string) error {
	if len(roles) == 0 {
		return &ValidationError{"role", "give the person at least one role: " + strings.Join(AllRoles, ", ")}
	}
	for _, r := range roles {
		if !ValidRole(r) {
			return &ValidationError{"role", fmt.Sprintf("%q is not a role; the roles are %s", r, strings.Join(AllRoles, ", "))}
		}
	}
	return s.Do(ctx, ActUserRoles, "", func(tx *store.Tx, w *Work) error {
		u, err := s.userByName(tx, username)
		if err != nil {
			return err
		}
		keepsAdmin := false
		for _, r := range roles {
			keepsAdmin = keepsAdmin || r == RoleAdmin
		}
		if !keepsAdmin {
			if err := keepsAnAdmin(tx, u); err != nil {
				return err
			}
		}
		w.Detail = fmt.Sprintf("user %s roles %s -> %s", u.ID, strings.Join(u.Roles, ","), strings.Join(roles, ","))
		return tx.SetUserRoles(u.ID, roles)
	})
}

// Settings returns every setting's value in force, defaults included.
func (s *Session) Settings(ctx context.Context) (map[string]string, error) {
	vals := map[string]string{}
	err := s.Do(ctx, ActSettingsEdit, "", func(tx *store.Tx, w *Work) error {
		w.Detail = "read settings"
		for _, k := range SettingKeys() {
			v, err := tx.Setting(k, settingDefault(k))
			if err != nil {
				return err
			}
			vals[k] = v
		}
		return nil
	})
	return vals, err
}

// SetSetting changes a clinic setting after checking its bounds.
func (s *Session) SetSetting(ctx context.Context, key, value string) error {
	if err := ValidateSetting(key, value); err != nil {
		return err
	}
	return s.Do(ctx, ActSettingsEdit, "", func(tx *store.Tx, w *Work) error {
		w.Detail = "set " + key + " = " + value // settings hold no PHI
		return tx.SetSetting(key, value)
	})
}

// ResetPassword sets a new password for someone who forgot theirs (an
// administrator's or security officer's act, audited). The person's PIN
// stops working until they sign in with the new password.
func (s *Session) ResetPassword(ctx context.Context, username, newPassword string) error {
	if err := CheckNewPassword(newPassword, username, s.clinic.Name()); err != nil {
		return &ValidationError{"password", err.Error()}
	}
	hash, err := HashPassword(newPassword)
	if err != nil {
		return err
	}
	return s.Do(ctx, ActPasswordReset, "", func(tx *store.Tx, w *Work) error {
		u, err := s.userByName(tx, username)
		if err != nil {
			return err
		}
		w.Detail = "password reset for user " + u.ID
		if err := tx.SetPasswordHash(u.ID, hash, s.clinic.now()); err != nil {
			return err
		}
		return clearAfterReset(tx, u.ID)
	})
}
