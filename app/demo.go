package app

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"

	"ward/store"
)

// The demo clinic: synthetic people only, for trying Ward and for tests.
const (
	DemoClinicName = "Riverside Demo Clinic"
	DemoPassword   = "ward-demo-pass" // every demo account; the README says so
)

// DemoUsers are the accounts of the demo clinic, one per role.
var DemoUsers = []NewUser{
	{Username: "admin", Name: "Ada Admin", Roles: []string{RoleAdmin}},
	{Username: "frontdesk", Name: "Frank Desk", Roles: []string{RoleFrontDesk}},
	{Username: "clinician", Name: "Dr. Clara Lin", Roles: []string{RoleClinician}},
	{Username: "security", Name: "Sam Security", Roles: []string{RoleSecurity}},
}

// InitDemo creates the demo clinic in an empty folder: the demo accounts
// and the emergency kit. It returns the recovery code.
func InitDemo(ctx context.Context, dir string, kr store.Keyring) (*Clinic, string, error) {
	c, code, err := Init(ctx, InitOptions{Dir: dir, ClinicName: DemoClinicName, AdminUsername: DemoUsers[0].Username,
		AdminName: DemoUsers[0].Name, AdminPassword: DemoPassword, Keyring: kr})
	if err != nil {
		return nil, "", err
	}
	s, err := c.SignIn(ctx, DemoUsers[0].Username, DemoPassword)
	if err == nil {
		err = s.Do(ctx, ActSettingsEdit, "", func(tx *store.Tx, w *Work) error {
			w.Detail = "marked as demo clinic"
			return tx.SetSetting(SettingDemo, "1")
		})
	}
	for _, u := range DemoUsers[1:] {
		if err != nil {
			break
		}
		u.Password = DemoPassword
		_, err = s.AddUser(ctx, u)
	}
	if err != nil {
		// Half a demo is no use: take back the folder (it was empty) and the key.
		c.Close()
		os.RemoveAll(dir)
		if acct, aerr := store.KeyringAccount(dir); aerr == nil {
			kr.Delete(acct)
		}
		return nil, "", err
	}
	return c, code, nil
}

// IsDemo tells whether this clinic is the demo clinic.
func (c *Clinic) IsDemo(ctx context.Context) (bool, error) {
	var v string
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		v, err = tx.Setting(SettingDemo, "")
		return err
	})
	return v == "1", err
}

// ImportPatients bulk-registers patients (an administrator's import, or the
// demo). One audit entry records the import and its size.
func (s *Session) ImportPatients(ctx context.Context, ps []store.Patient, progress func(done int)) error {
	for i := range ps {
		p, err := ValidatePatient(NewPatient{Name: ps[i].Name, BirthDate: ps[i].BirthDate, MRN: ps[i].MRN,
			Phone: ps[i].Phone, Sex: ps[i].Sex, Address: ps[i].Address}, s.signedIn)
		if err != nil {
			return fmt.Errorf("patient %d of the import: %w", i+1, err)
		}
		if p.MRN == "" {
			return fmt.Errorf("patient %d of the import: %w", i+1, &ValidationError{"MRN", "an import needs an MRN for every patient"})
		}
		ps[i] = p
	}
	return s.Do(ctx, ActPatientImport, "", func(tx *store.Tx, w *Work) error {
		w.Detail = fmt.Sprintf("imported %d patients", len(ps))
		return tx.BulkAddPatients(ps, progress)
	})
}

var (
	demoGiven  = []string{"Ada", "Amir", "Beatriz", "Chen", "Dmitri", "Elif", "Fatima", "Grace", "Hiro", "Ines", "Jonas", "Kwame", "Leila", "Mateo", "Nadia", "Oskar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoe", "Maren", "Colm", "Aisling"}
	demoFamily = []string{"Abara", "Bergström", "Castillo", "Dubois", "Eriksen", "Fujita", "García", "Haddad", "Ivanova", "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "O'Brien", "Petrov", "Quispe", "Rahman", "Schmidt", "Tanaka", "Umarov", "Varga", "Whitfield", "Xu", "Yilmaz", "Zhang", "Okafor", "Novak", "Murphy", "Costa"}
	demoStreet = []string{"Mill Lane", "Harbour Road", "Elm Street", "Station Road", "Orchard Way", "Church Street", "River Walk"}
)

// SyntheticPatients makes n made-up patients, the same ones for the same
// seed, with MRNs starting at firstMRN.
func SyntheticPatients(n int, seed uint64, firstMRN int) []store.Patient {
	r := rand.New(rand.NewPCG(seed, 0x57415244))
	ps := make([]store.Patient, n)
	for i := range ps {
		given, family := demoGiven[r.IntN(len(demoGiven))], demoFamily[r.IntN(len(demoFamily))]
		if r.IntN(4) == 0 {
			given += " " + demoGiven[r.IntN(len(demoGiven))]
		}
		sex := []string{"female", "male", "other"}[r.IntN(3)]
		ps[i] = store.Patient{
			MRN:       fmt.Sprintf("%08d", firstMRN+i),
			Name:      given + " " + family,
			BirthDate: fmt.Sprintf("%04d-%02d-%02d", 1930+r.IntN(94), 1+r.IntN(12), 1+r.IntN(28)),
			Sex:       sex,
			Phone:     fmt.Sprintf("555-%03d-%04d", r.IntN(1000), r.IntN(10000)),
			Address:   fmt.Sprintf("%d %s", 1+r.IntN(200), demoStreet[r.IntN(len(demoStreet))]),
		}
	}
	return ps
}

// PatientCount is how many patients the clinic has (no PHI: a number).
func (c *Clinic) PatientCount(ctx context.Context) (int, error) {
	var n int
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.PatientCount()
		return err
	})
	return n, err
}

// ErrNotDemo is returned when demo data is asked for in a real clinic.
var ErrNotDemo = errors.New("this data folder holds a real clinic, not the demo: `ward demo` adds synthetic patients only to the demo clinic (use an empty --data folder)")
