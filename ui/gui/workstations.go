package gui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store/audit"
)

// workstationsSection is the Workstations tab (administrators). Pairing
// workstations and the replica's status come with the replica feature;
// until then the tab says so and names this workstation, with nothing to
// press.
func (u *UI) workstationsSection(s *app.Session) fyne.CanvasObject {
	n := u.clinic.Node()
	heading := widget.NewLabelWithStyle("Workstations", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	heading.SizeName = theme.SizeNameSubHeadingText
	soon := widget.NewLabel("Pairing workstations, so that each keeps a copy of the clinic's records, and the status of " +
		"those copies arrive with the replica feature of a later version of Ward. Until then this workstation " +
		"keeps its records on its own: back it up (see the backup settings).")
	soon.Wrapping = fyne.TextWrapWord
	fact := func(k, val string) fyne.CanvasObject {
		l := widget.NewLabel(val)
		l.Selectable = true
		return container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSize(170, 0),
			widget.NewLabelWithStyle(k, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})), nil, l)
	}
	return container.NewVBox(heading, soon, widget.NewSeparator(),
		widget.NewLabelWithStyle("This workstation", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		fact("Name", n.Name),
		fact("Id", n.ID),
		fact("Signing key", fmt.Sprintf("%s (signs its audit checkpoints and exports)", audit.Fingerprint(n.PublicKey))),
		fact("Data folder", u.clinic.Dir()))
}
