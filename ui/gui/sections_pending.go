package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"ward/app"
)

// Sections being built (each moves to its own file when done).

func (u *UI) patientsSection(s *app.Session) fyne.CanvasObject { return widget.NewLabel("Patients") }
func (u *UI) scheduleSection(s *app.Session) fyne.CanvasObject { return widget.NewLabel("Schedule") }
func (u *UI) chartSection(s *app.Session) fyne.CanvasObject    { return widget.NewLabel("Chart") }
func (u *UI) auditSection(s *app.Session) fyne.CanvasObject    { return widget.NewLabel("Audit") }
func (u *UI) peopleSection(s *app.Session) fyne.CanvasObject   { return widget.NewLabel("People") }
func (u *UI) settingsSection(s *app.Session) fyne.CanvasObject { return widget.NewLabel("Settings") }
func (u *UI) workstationsSection(s *app.Session) fyne.CanvasObject {
	return widget.NewLabel("Workstations")
}
