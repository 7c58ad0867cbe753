package gui

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"ward/app"
)

// An administrator adds a person (a weak first password is refused beside
// the field, a good one works), disables them after confirming, enables
// them, resets their password (again refused beside the field when weak),
// and changes their roles; taking away the clinic's last administrator is
// refused in a sentence. Every change is in the audit log, and the new
// password signs in.
func TestPeopleAdministration(t *testing.T) {
	c := testClinic(t)
	u := newTestUI(t, c)
	sh := signInAs(t, u, "admin")
	v := openTab[*peopleView](t, u, sh)
	if len(v.accounts) != len(app.DemoUsers) {
		t.Fatalf("%d people listed, want %d", len(v.accounts), len(app.DemoUsers))
	}

	// Add: a weak password, then a good one.
	tap(u, v.add)
	if u.win.Canvas().Focused() != fyne.Focusable(v.newUsername.input.(*keyEntry)) {
		t.Fatal("the add form does not start in the username")
	}
	test.Type(v.newUsername.input.(*keyEntry), "nina")
	test.Type(v.newName.input.(*keyEntry), "Nina Nurse")
	v.newRoles.input.(*widget.CheckGroup).SetSelected([]string{"front desk"})
	test.Type(v.newPassword.input.(*keyEntry), "password1")
	tap(u, v.addSubmit)
	if !v.newPassword.msg.Visible() || !strings.Contains(v.newPassword.msg.Text, "commonly used") {
		t.Fatalf("a common password: %q", v.newPassword.msg.Text)
	}
	v.newPassword.input.(*keyEntry).SetText("copper kettle morning")
	v.newPassword.input.(*keyEntry).TypedKey(&fyneKeyReturn)
	u.settle()
	if v.chosen != "nina" || !strings.Contains(v.cardMessage.Text, "Nina Nurse can now sign in as nina") {
		t.Fatalf("after adding: chosen %q, message %q", v.chosen, v.cardMessage.Text)
	}
	if a, _ := v.account(); a.Username != "nina" || strings.Join(a.Roles, ",") != app.RoleFrontDesk {
		t.Fatalf("the new account: %+v", a)
	}

	// Disable after confirming; enable.
	if !v.disable.Visible() || v.enable.Visible() {
		t.Fatal("an active account does not offer Disable (only)")
	}
	tap(u, v.disable)
	tap(u, buttonIn(t, topOverlay(t, u), "Disable account"))
	if a, _ := v.account(); !a.Disabled || !strings.Contains(v.status.Text, "no: disabled") || !v.enable.Visible() {
		t.Fatalf("after disabling: %+v, status %q", a, v.status.Text)
	}
	tap(u, v.enable)
	if a, _ := v.account(); a.Disabled {
		t.Fatal("Enable left the account disabled")
	}

	// Reset the password: weak, then good.
	pw := v.password.input.(*keyEntry)
	test.Type(pw, "kettle")
	tap(u, v.resetPassword)
	if !strings.Contains(v.password.msg.Text, "at least 8 characters") {
		t.Fatalf("a short password: %q", v.password.msg.Text)
	}
	pw.SetText("")
	test.Type(pw, "lantern harbour violet")
	pw.TypedKey(&fyneKeyReturn)
	u.settle()
	if v.password.msg.Visible() || pw.Text != "" || !strings.Contains(v.cardMessage.Text, "password is reset") {
		t.Fatalf("after a reset: field %q / %q, message %q", pw.Text, v.password.msg.Text, v.cardMessage.Text)
	}
	if s, err := c.SignIn(context.Background(), "nina", "lantern harbour violet"); err != nil {
		t.Fatalf("the reset password does not sign in: %v", err)
	} else {
		s.SignOut(context.Background())
	}

	// Roles: none is refused beside them; then clinician.
	roles := v.roles.input.(*widget.CheckGroup)
	roles.SetSelected(nil)
	tap(u, v.saveRoles)
	if !strings.Contains(v.roles.msg.Text, "at least one role") {
		t.Fatalf("no role: %q", v.roles.msg.Text)
	}
	roles.SetSelected([]string{"clinician"})
	tap(u, v.saveRoles)
	if a, _ := v.account(); strings.Join(a.Roles, ",") != app.RoleClinician || v.roles.msg.Visible() {
		t.Fatalf("after changing roles: %+v (%q)", a, v.roles.msg.Text)
	}

	// The last administrator keeps the role, and cannot disable themself.
	v.choose("admin")
	if v.disable.Visible() {
		t.Fatal("an administrator is offered to disable their own account")
	}
	roles.SetSelected([]string{"security officer"})
	tap(u, v.saveRoles)
	if !strings.Contains(v.cardMessage.Text, "without an active administrator") || v.cardMessage.Importance != widget.DangerImportance {
		t.Fatalf("taking the last admin role: %q", v.cardMessage.Text)
	}
	assertAudited(t, c, "user.list", "user.create", "user.disable", "user.enable", "user.reset-password", "user.roles")
}

// A person paused after wrong passwords shows so, and Unlock lets them try
// again at once; a second factor set up by its owner is removed after
// confirming (a lost phone).
func TestPeopleUnlockAndSecondFactor(t *testing.T) {
	c := testClinic(t)
	ctx := context.Background()
	for range app.FreeFailures {
		c.SignIn(ctx, "frontdesk", "not the password")
	}
	doc, err := c.SignIn(ctx, "clinician", app.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	enr, err := doc.BeginTOTP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.ConfirmTOTP(ctx, totpNow(t, enr.Secret)); err != nil {
		t.Fatal(err)
	}

	u := newTestUI(t, c)
	sh := signInAs(t, u, "security")
	v := openTab[*peopleView](t, u, sh)
	v.choose("frontdesk")
	if !strings.Contains(v.status.Text, "paused until") || !v.unlock.Visible() {
		t.Fatalf("a paused account: %q, unlock shown %v", v.status.Text, v.unlock.Visible())
	}
	tap(u, v.unlock)
	if a, _ := v.account(); a.Paused(time.Now()) || a.Failures != 0 || v.unlock.Visible() {
		t.Fatalf("after Unlock: %+v", a)
	}
	if s, err := c.SignIn(ctx, "frontdesk", app.DemoPassword); err != nil {
		t.Fatalf("sign-in after Unlock: %v", err)
	} else {
		s.SignOut(ctx)
	}

	v.choose("clinician")
	if !strings.Contains(v.status.Text, "second factor on") || !v.resetTOTP.Visible() {
		t.Fatalf("a second factor: %q", v.status.Text)
	}
	tap(u, v.resetTOTP)
	closeTop(u) // Esc: nothing happens
	if a, _ := v.account(); !a.SecondFactor {
		t.Fatal("Esc on the question removed the second factor")
	}
	tap(u, v.resetTOTP)
	tap(u, buttonIn(t, topOverlay(t, u), "Remove second factor"))
	if a, _ := v.account(); a.SecondFactor || v.resetTOTP.Visible() {
		t.Fatalf("after removing: %+v", a)
	}
	if s, err := c.SignIn(ctx, "clinician", app.DemoPassword); err != nil {
		t.Fatalf("the password alone after the second factor was removed: %v", err)
	} else {
		s.SignOut(ctx)
	}
	assertAudited(t, c, "user.unlock-account", "user.reset-password")
}
