// Package assets holds the files Ward embeds: its icon (also FyneApp.toml's)
// and, in assets/passwords, the list of common passwords.
package assets

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

//go:embed icon.png
var iconPNG []byte

// Icon is Ward's application icon.
var Icon = fyne.NewStaticResource("icon.png", iconPNG)
