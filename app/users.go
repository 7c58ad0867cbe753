package app

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"ward/store"
)

// NewUser is what an administrator fills in for a new person.
type NewUser struct {
	Username string
	Name     string
	Roles    []string
	Password string
}

func validateUser(n NewUser, clinicName string) (NewUser, error) {
	n.Username = strings.TrimSpace(n.Username)
	if n.Username == "" || len(n.Username) > 64 {
		return n, &ValidationError{"username", "a username has 1 to 64 characters"}
	}
	for _, r := range n.Username {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-' || r == '_') {
			return n, &ValidationError{"username", "a username has only letters, digits, '.', '-' and '_'"}
		}
	}
	if len(n.Roles) == 0 {
		return n, &ValidationError{"role", "give the person at least one role: " + strings.Join(AllRoles, ", ")}
	}
	for _, r := range n.Roles {
		if !ValidRole(r) {
			return n, &ValidationError{"role", fmt.Sprintf("%q is not a role; the roles are %s", r, strings.Join(AllRoles, ", "))}
		}
	}
	if err := CheckNewPassword(n.Password, n.Username, clinicName); err != nil {
		return n, &ValidationError{"password", err.Error()}
	}
	return n, nil
}

// AddUser creates an account for a person.
func (s *Session) AddUser(ctx context.Context, n NewUser) (store.User, error) {
	n, err := validateUser(n, s.clinic.Name())
	if err != nil {
		return store.User{}, err
	}
	hash, err := HashPassword(n.Password)
	if err != nil {
		return store.User{}, err
	}
	var u store.User
	err = s.Do(ctx, ActUserCreate, "", func(tx *store.Tx, w *Work) error {
		var err error
		u, err = tx.AddUser(store.User{Username: n.Username, DisplayName: firstNonEmpty(n.Name, n.Username),
			PasswordHash: hash, Roles: n.Roles})
		w.Detail = "created user " + u.ID + " with roles " + strings.Join(n.Roles, ",")
		return err
	})
	return u, err
}

// Users lists every account.
func (s *Session) Users(ctx context.Context) ([]store.User, error) {
	var us []store.User
	err := s.Do(ctx, ActUserList, "", func(tx *store.Tx, w *Work) error {
		var err error
		us, err = tx.Users()
		return err
	})
	return us, err
}
