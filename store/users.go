package store

import (
	"database/sql"
	"errors"
	"strings"
	"time"
)

// ErrUsernameTaken is returned when a username is already in use.
var ErrUsernameTaken = errors.New("that username is already taken: choose another")

// User is a person who signs in. Users are never deleted, only disabled.
type User struct {
	ID           string
	Username     string
	DisplayName  string
	PasswordHash string `json:"-"` // replicated by its own rule, never printed
	Roles        []string
	Disabled     bool
	CreatedAt    time.Time
}

// HasRole tells whether u holds role.
func (u User) HasRole(role string) bool {
	for _, r := range u.Roles {
		if r == role {
			return true
		}
	}
	return false
}

const userColumns = "id, username, display_name, password_hash, roles, disabled, created_at"

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var roles string
	var created int64
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.PasswordHash, &roles, &u.Disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if roles != "" {
		u.Roles = strings.Split(roles, ",")
	}
	u.CreatedAt = time.Unix(created, 0)
	return u, err
}

// AddUser inserts a user with a new id.
func (tx *Tx) AddUser(u User) (User, error) {
	if _, err := tx.UserByUsername(u.Username); err == nil {
		return User{}, ErrUsernameTaken
	} else if !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	u.ID = NewID()
	u.CreatedAt = tx.now.Truncate(time.Second)
	origin, hlc := tx.stamp()
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO users(`+userColumns+`, origin, hlc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Username, u.DisplayName, u.PasswordHash, strings.Join(u.Roles, ","), u.Disabled, u.CreatedAt.Unix(), origin, int64(hlc))
	if err != nil {
		return User{}, err
	}
	return u, tx.logChange("users", u.ID, "upsert", hlc, u)
}

// UserByUsername finds a user by username (case-insensitive).
func (tx *Tx) UserByUsername(username string) (User, error) {
	return scanUser(tx.tx.QueryRowContext(tx.ctx, "SELECT "+userColumns+" FROM users WHERE username = ? AND deleted = 0", username))
}

// UserByID finds a user by id.
func (tx *Tx) UserByID(id string) (User, error) {
	return scanUser(tx.tx.QueryRowContext(tx.ctx, "SELECT "+userColumns+" FROM users WHERE id = ? AND deleted = 0", id))
}

// Users lists every user, disabled ones too, by username.
func (tx *Tx) Users() ([]User, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, "SELECT "+userColumns+" FROM users WHERE deleted = 0 ORDER BY username")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var us []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	return us, rows.Err()
}

// SetUserDisabled disables (deprovisions) or re-enables an account. Users
// are never deleted: their id stays in the audit chain.
func (tx *Tx) SetUserDisabled(id string, disabled bool) error {
	return tx.updateUser(id, func(u *User) { u.Disabled = disabled }, "disabled = ?", disabled)
}

// SetUserRoles replaces a person's roles.
func (tx *Tx) SetUserRoles(id string, roles []string) error {
	return tx.updateUser(id, func(u *User) { u.Roles = roles }, "roles = ?", strings.Join(roles, ","))
}

// updateUser applies one column change, stamps it and logs the new row.
func (tx *Tx) updateUser(id string, apply func(*User), set string, value any) error {
	u, err := tx.UserByID(id)
	if err != nil {
		return err
	}
	apply(&u)
	origin, hlc := tx.stamp()
	if _, err := tx.tx.ExecContext(tx.ctx, "UPDATE users SET "+set+", origin = ?, hlc = ? WHERE id = ?", value, origin, int64(hlc), id); err != nil {
		return err
	}
	return tx.logChange("users", id, "upsert", hlc, u)
}

// CountActiveWithRole counts enabled users holding role.
func (tx *Tx) CountActiveWithRole(role string) (int, error) {
	us, err := tx.Users()
	n := 0
	for _, u := range us {
		if !u.Disabled && u.HasRole(role) {
			n++
		}
	}
	return n, err
}
