package gui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Light and dark themes: Fyne's own, with a calm teal in place of its
// blue. By default Ward follows the desktop's light/dark setting; a person
// can pin light or dark with the choice in the header, kept in this
// workstation's Fyne preferences (not a clinic setting: it is about the
// screen, not the records).

// themePref is the preferences key: "" (follow the desktop), "light", "dark".
const themePref = "theme"

// The choices as the header shows them, in order, with their stored values.
var themeChoices = []struct{ label, value string }{
	{"Follow system", ""},
	{"Light", "light"},
	{"Dark", "dark"},
}

// wardTheme is Fyne's default theme with Ward's palette and, when pinned,
// one variant whatever the desktop says.
type wardTheme struct {
	pinned  bool
	variant fyne.ThemeVariant
}

// Contrast of the teal (WCAG 2): white text on it 5.0:1 (AA for text needs
// 4.5:1); as text on the light background 4.7:1; on the dark background
// 3.6:1 (selected tab labels: AA for UI components and bold text needs 3:1).
var (
	wardPrimary    = color.NRGBA{R: 0x26, G: 0x79, B: 0x8a, A: 0xff}
	wardFocus      = color.NRGBA{R: 0x26, G: 0x79, B: 0x8a, A: 0x80}
	wardSelection  = color.NRGBA{R: 0x26, G: 0x79, B: 0x8a, A: 0x40}
	wardLinkLight  = color.NRGBA{R: 0x1b, G: 0x5e, B: 0x69, A: 0xff}
	wardLinkDark   = color.NRGBA{R: 0x6c, G: 0xc4, B: 0xd1, A: 0xff}
	wardBackground = color.NRGBA{R: 0xf6, G: 0xf8, B: 0xf8, A: 0xff} // light only: a touch softer than white
	// Light only: Fyne's bright green and amber are hard to read as text on
	// a light background (the verify result, the countdown); these are 4.8:1 and 5.1:1.
	wardSuccessLight = color.NRGBA{R: 0x2e, G: 0x7d, B: 0x32, A: 0xff}
	wardWarningLight = color.NRGBA{R: 0x9a, G: 0x5b, B: 0x00, A: 0xff}
)

func (t wardTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if t.pinned {
		v = t.variant
	}
	switch n {
	case theme.ColorNamePrimary:
		return wardPrimary
	case theme.ColorNameFocus:
		return wardFocus
	case theme.ColorNameSelection:
		return wardSelection
	case theme.ColorNameHyperlink:
		if v == theme.VariantDark {
			return wardLinkDark
		}
		return wardLinkLight
	case theme.ColorNameBackground:
		if v == theme.VariantLight {
			return wardBackground
		}
	case theme.ColorNameSuccess:
		if v == theme.VariantLight {
			return wardSuccessLight
		}
	case theme.ColorNameWarning:
		if v == theme.VariantLight {
			return wardWarningLight
		}
	}
	return theme.DefaultTheme().Color(n, v)
}

func (wardTheme) Font(s fyne.TextStyle) fyne.Resource     { return theme.DefaultTheme().Font(s) }
func (wardTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return theme.DefaultTheme().Icon(n) }
func (wardTheme) Size(n fyne.ThemeSizeName) float32       { return theme.DefaultTheme().Size(n) }

// themeFor is the theme for a stored choice.
func themeFor(choice string) fyne.Theme {
	switch choice {
	case "light":
		return wardTheme{pinned: true, variant: theme.VariantLight}
	case "dark":
		return wardTheme{pinned: true, variant: theme.VariantDark}
	}
	return wardTheme{}
}

// applyTheme sets the theme chosen last on this workstation (Run calls it
// before the window shows; the header's choice after storing a new one).
func (u *UI) applyTheme() {
	u.fa.Settings().SetTheme(themeFor(u.fa.Preferences().String(themePref)))
}

// themeToggle is the header's light/dark choice.
func (u *UI) themeToggle() fyne.CanvasObject {
	labels := make([]string, len(themeChoices))
	current := labels[0]
	stored := u.fa.Preferences().String(themePref)
	for i, c := range themeChoices {
		labels[i] = c.label
		if c.value == stored {
			current = c.label
		}
	}
	sel := widget.NewSelect(labels, nil)
	sel.PlaceHolder = labels[0] // the longest: the box is as wide as its placeholder
	sel.SetSelected(current)
	sel.OnChanged = func(label string) {
		for _, c := range themeChoices {
			if c.label == label {
				u.fa.Preferences().SetString(themePref, c.value)
				u.applyTheme()
			}
		}
	}
	return sel
}
