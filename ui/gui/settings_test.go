package gui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2/widget"

	"ward/app"
)

// An administrator changes settings: values out of bounds are refused
// beside their fields with the bounds and nothing is saved; values in
// bounds are saved, each audited, and read back. The backup settings app
// lists show up with their words.
func TestSettingsSaveWithinBounds(t *testing.T) {
	c := testClinic(t)
	u := newTestUI(t, c)
	sh := signInAs(t, u, "admin")
	v := openTab[*settingsView](t, u, sh)
	idle := v.fields[app.SettingIdlePrefix+app.RoleFrontDesk].input.(*keyEntry)
	pin := v.fields[app.SettingPINWindow].input.(*keyEntry)
	folder := v.fields[app.SettingBackupFolder].input.(*keyEntry)
	if idle.Text != "15" || pin.Text != "8" {
		t.Fatalf("defaults read: idle %q, PIN window %q", idle.Text, pin.Text)
	}
	if !strings.Contains(textOf(v), "Hours between scheduled backups (1 to 168)") {
		t.Fatal("the backup settings are not shown with their words")
	}

	idle.SetText("90")
	pin.SetText("30")
	folder.SetText("backups")
	tap(u, v.save)
	for key, want := range map[string]string{
		app.SettingIdlePrefix + app.RoleFrontDesk: "from 1 to 60",
		app.SettingPINWindow:                      "from 1 to 24",
		app.SettingBackupFolder:                   "absolute path",
	} {
		if f := v.fields[key]; !f.msg.Visible() || !strings.Contains(f.msg.Text, want) {
			t.Errorf("%s out of bounds: %q", key, f.msg.Text)
		}
	}
	if !strings.Contains(v.message.Text, "Nothing was saved") || settingNow(t, sh.s, app.SettingPINWindow) != "8" {
		t.Fatalf("after refusing: %q, PIN window %s", v.message.Text, settingNow(t, sh.s, app.SettingPINWindow))
	}

	idle.SetText("10")
	pin.SetText("4")
	folder.SetText("")
	v.fields[app.SettingTOTPRoles].input.(*widget.CheckGroup).SetSelected([]string{"front desk", "clinician"}) // not the officer: auditActions signs in as them
	v.fields[app.SettingLockOnFocusLoss].input.(*widget.Check).SetChecked(true)
	pin.TypedKey(&fyneKeyReturn) // Enter saves
	u.settle()
	if !strings.Contains(v.message.Text, "Saved 4 settings") {
		t.Fatalf("after saving: %q", v.message.Text)
	}
	for key, want := range map[string]string{
		app.SettingIdlePrefix + app.RoleFrontDesk: "10",
		app.SettingPINWindow:                      "4",
		app.SettingTOTPRoles:                      "frontdesk,clinician",
		app.SettingLockOnFocusLoss:                "1",
	} {
		if got := settingNow(t, sh.s, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if got := auditActions(t, c); strings.Count(got, " clinic.settings success ") < 4+1 { // 4 changes, the reads
		t.Fatalf("the changes are not audited: %s", got)
	}
	tap(u, v.save)
	if !strings.Contains(v.message.Text, "Nothing to save") {
		t.Fatalf("saving again: %q", v.message.Text)
	}
}

// The administrator's tabs and the security officer's (the Workstations
// tab itself: workstations_test.go).
func TestAdminTabsAndWorkstations(t *testing.T) {
	c := testClinic(t)
	addAccount(t, c, "ops", app.RoleAdmin)
	u := newTestUI(t, c)
	sh := signInAs(t, u, "ops")
	var tabs []string
	for _, it := range sh.tabs.Items {
		tabs = append(tabs, it.Text)
	}
	if got := strings.Join(tabs, ","); got != "Audit,People,Settings,Workstations" {
		t.Fatalf("administrator's tabs: %s", got)
	}

	tap(u, sh.signOut)
	sh = signInAs(t, u, "security")
	tabs = nil
	for _, it := range sh.tabs.Items {
		tabs = append(tabs, it.Text)
	}
	if got := strings.Join(tabs, ","); got != "Audit,Emergency access,People,Workstations" {
		t.Fatalf("security officer's tabs: %s", got)
	}
}

// settingNow is a setting's value in force, read in s.
func settingNow(t *testing.T, s *app.Session, key string) string {
	t.Helper()
	vals, err := s.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return vals[key]
}
