package gui

import (
	"testing"

	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The header's theme choice: it follows the desktop until a person picks
// light or dark, which is kept in this workstation's preferences and
// applied again when Ward starts.
func TestThemeToggle(t *testing.T) {
	u := newTestUI(t, testClinic(t))
	signInAs(t, u, "frontdesk")
	u.applyTheme()
	sel := u.themeToggle().(*widget.Select)
	if sel.Selected != "Follow system" {
		t.Fatalf("first choice = %q", sel.Selected)
	}
	th := u.fa.Settings().Theme()
	if th.Color(theme.ColorNameBackground, theme.VariantDark) == th.Color(theme.ColorNameBackground, theme.VariantLight) {
		t.Fatal("following the desktop, the dark and light backgrounds are the same")
	}
	sel.SetSelected("Dark")
	if got := u.fa.Preferences().String(themePref); got != "dark" {
		t.Fatalf("stored choice = %q, want dark", got)
	}
	th = u.fa.Settings().Theme()
	if th.Color(theme.ColorNameBackground, theme.VariantLight) != theme.DefaultTheme().Color(theme.ColorNameBackground, theme.VariantDark) {
		t.Fatal("dark chosen, but a light desktop still gets a light background")
	}
	// Ward starts again: the choice is applied and the header shows it.
	u.fa.Settings().SetTheme(theme.DefaultTheme())
	u.applyTheme()
	if _, ok := u.fa.Settings().Theme().(wardTheme); !ok || u.themeToggle().(*widget.Select).Selected != "Dark" {
		t.Fatal("the stored choice was not applied at start")
	}
}
