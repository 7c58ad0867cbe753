package gui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store"
)

// Encounters and notes. A note is a draft until its author signs it; a
// signed note never changes (it shows read-only) and a correction is an
// amendment: a new version linked to the old one, signed in its turn. Only
// a draft's author edits, signs or discards it (app refuses anyone else;
// the chart does not offer it to them).

// encounterKinds are offered when an encounter is opened.
var encounterKinds = []string{"visit", "phone", "video", "home visit"}

// notesPane is the "Encounters & notes" pane.
type notesPane struct {
	cv      *chartView
	rows    *fyne.Container
	content fyne.CanvasObject
}

func (cv *chartView) newNotesPane() *notesPane {
	p := &notesPane{cv: cv, rows: container.NewVBox()}
	open := writable(cv.s, app.ActEncounterWrite, widget.NewButtonWithIcon("Open encounter…", theme.ContentAddIcon(), cv.openEncounter))
	write := writable(cv.s, app.ActNoteWrite, widget.NewButtonWithIcon("Write note in a new visit…", theme.DocumentCreateIcon(), func() { cv.writeNote("") }))
	p.content = container.NewBorder(container.NewHBox(open, write), nil, nil, nil, container.NewVScroll(p.rows))
	return p
}

// refresh shows the encounters of the chart read last, newest first, each
// with its notes.
func (p *notesPane) refresh() {
	cv := p.cv
	var objs []fyne.CanvasObject
	for _, e := range cv.chart.Encounters {
		if len(objs) > 0 {
			objs = append(objs, widget.NewSeparator())
		}
		objs = append(objs, cv.encounterView(e))
	}
	if len(cv.chart.Unfiled) > 0 {
		objs = append(objs, widget.NewSeparator(), widget.NewLabelWithStyle("Notes whose encounter is gone", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
		for _, t := range cv.chart.Unfiled {
			objs = append(objs, cv.threadView(t))
		}
	}
	if len(objs) == 0 {
		none := "No encounters yet. Open one, or write a note in a new visit."
		if cv.s.ReadOnly() {
			none = "No encounters yet."
		}
		objs = []fyne.CanvasObject{widget.NewLabel(none)}
	}
	p.rows.Objects = objs
	p.rows.Refresh()
}

// encounterView is one encounter: when, what, with whom, its notes.
func (cv *chartView) encounterView(e app.ChartEncounter) fyne.CanvasObject {
	var buttons []fyne.CanvasObject
	if e.Status == store.EncounterOpen {
		id := e.ID
		buttons = append(buttons,
			writable(cv.s, app.ActNoteWrite, widget.NewButtonWithIcon("Write note…", theme.DocumentCreateIcon(), func() { cv.writeNote(id) })),
			writable(cv.s, app.ActEncounterWrite, widget.NewButton("Close encounter…", func() { cv.closeEncounter(id) })))
	}
	parts := []fyne.CanvasObject{recordRow(fmt.Sprintf("%s · %s", capital(e.Kind), when(e.StartedAt)),
		fmt.Sprintf("with %s · %s", cv.nameOf(e.ClinicianID), e.Status), true, buttons...)}
	if len(e.Notes) == 0 {
		parts = append(parts, widget.NewLabel("No notes in this encounter."))
	}
	for _, t := range e.Notes {
		parts = append(parts, cv.threadView(t))
	}
	return container.NewVBox(parts...)
}

// threadView is a note with its versions: the version that stands
// (read-only once signed), and a draft amendment below it while there is
// one.
func (cv *chartView) threadView(t store.NoteThread) fyne.CanvasObject {
	cur, newest := t.Current(), t.Newest()
	if cur.Status != store.NoteSigned {
		return cv.draftView(cur, "Draft note, not signed")
	}
	head := fmt.Sprintf("Signed note · signed %s by %s", when(cur.SignedAt), cv.nameOf(cur.AuthorID))
	if k := versionOf(t, cur.ID); k > 1 {
		head += fmt.Sprintf(" · amended: version %d", k)
	}
	history := widget.NewButtonWithIcon(fmt.Sprintf("History (%d)", len(t.Versions)), theme.HistoryIcon(), func() { cv.noteHistory(t) })
	buttons := []fyne.CanvasObject{history}
	if newest.Status == store.NoteSigned { // an amendment in draft is edited, not started again
		buttons = append([]fyne.CanvasObject{writable(cv.s, app.ActNoteAmend, widget.NewButton("Amend…", func() { cv.amendNote(cur) }))}, buttons...)
	}
	parts := []fyne.CanvasObject{noteBlock(head, cur.Body, buttons...)}
	if newest.Status == store.NoteDraft {
		parts = append(parts, cv.draftView(newest, "Draft amendment, not signed"))
	}
	return container.NewPadded(container.NewVBox(parts...))
}

// versionOf is the place of note id in its thread (1 = the original).
func versionOf(t store.NoteThread, id string) int {
	for i, v := range t.Versions {
		if v.ID == id {
			return i + 1
		}
	}
	return 0
}

// draftView is a draft: its author may edit, sign or discard it; anyone
// else reads it and is told who can.
func (cv *chartView) draftView(n store.Note, what string) fyne.CanvasObject {
	head := fmt.Sprintf("%s · written %s by %s", what, when(n.CreatedAt), cv.nameOf(n.AuthorID))
	if !cv.mine(n) {
		return container.NewPadded(noteBlock(head+" · only its author can edit, sign or discard it", n.Body))
	}
	edit := widget.NewButtonWithIcon("Edit…", theme.DocumentCreateIcon(), func() { cv.editDraft(n) })
	sign := widget.NewButtonWithIcon("Sign…", theme.ConfirmIcon(), func() {
		cv.u.confirmAction("Sign this note?", "Signed notes cannot be changed; corrections are amendments.", "Sign note",
			func() { cv.signNote(n) })
	})
	sign.Importance = widget.HighImportance
	discard := widget.NewButtonWithIcon("Discard…", theme.DeleteIcon(), func() {
		cv.u.confirmAction("Discard this draft?", "The draft is taken out of the chart. Its history is kept.", "Discard draft",
			func() { cv.discardDraft(n) })
	})
	return container.NewPadded(noteBlock(head, n.Body, edit, sign, discard))
}

// noteBlock is a heading, the note's text (selectable, never editable
// here) and the buttons for it.
func noteBlock(head, body string, buttons ...fyne.CanvasObject) fyne.CanvasObject {
	h := widget.NewLabelWithStyle(head, fyne.TextAlignLeading, fyne.TextStyle{Italic: true})
	h.Wrapping = fyne.TextWrapWord
	text := widget.NewLabel(body)
	text.Wrapping = fyne.TextWrapWord
	text.Selectable = true
	return container.NewVBox(container.NewBorder(nil, nil, nil, container.NewHBox(buttons...), h), text)
}

// openEncounter asks for the kind and opens an encounter with the
// signed-in clinician.
func (cv *chartView) openEncounter() {
	kind := widget.NewSelect(encounterKinds, nil)
	kind.SetSelected(encounterKinds[0])
	pid := cv.patientID
	cv.u.showChartForm("Open an encounter", "Open encounter", 380, []*chartField{newChartField("kind", "Kind", kind)},
		func(ctx context.Context, v map[string]string) error {
			_, err := cv.s.OpenEncounter(ctx, pid, v["kind"])
			return err
		}, cv.done("Encounter opened."))
}

func (cv *chartView) closeEncounter(id string) {
	cv.u.confirmAction("Close this encounter?", "No new note can be written in it afterwards. Its signed notes can still be amended.",
		"Close encounter", func() {
			cv.change("Encounter closed.", func(ctx context.Context) error {
				_, err := cv.s.CloseEncounter(ctx, id)
				return err
			})
		})
}

// writeNote writes a draft in an encounter ("" = a new visit).
func (cv *chartView) writeNote(encounterID string) {
	pid := cv.patientID
	cv.noteEditor("Write a note", "", func(ctx context.Context, text string) error {
		_, err := cv.s.WriteNote(ctx, app.NewNote{PatientID: pid, EncounterID: encounterID, Text: text})
		return err
	}, "Draft saved. Sign it when it is complete.")
}

// editDraft changes a draft's text (app refuses a signed note, and anyone
// but the author).
func (cv *chartView) editDraft(n store.Note) {
	cv.noteEditor("Edit the draft", n.Body, func(ctx context.Context, text string) error {
		_, err := cv.s.EditDraft(ctx, n.ID, text)
		return err
	}, "Draft saved.")
}

// amendNote writes a draft amendment of a signed note, starting from its text.
func (cv *chartView) amendNote(n store.Note) {
	cv.noteEditor("Amend the note", n.Body, func(ctx context.Context, text string) error {
		_, err := cv.s.AmendNote(ctx, n.ID, text)
		return err
	}, "Amendment saved as a draft. Sign it to make it the note that stands.")
}

func (cv *chartView) signNote(n store.Note) {
	cv.change("Note signed.", func(ctx context.Context) error {
		_, err := cv.s.SignNote(ctx, n.ID)
		return err
	})
}

func (cv *chartView) discardDraft(n store.Note) {
	cv.change("Draft discarded.", func(ctx context.Context) error { return cv.s.DiscardDraft(ctx, n.ID) })
}

// noteEditor is the dialog to write a note's text: Save draft (or
// Shift+Enter) saves it through save; Cancel (or Esc) asks first when
// text was typed.
func (cv *chartView) noteEditor(title, text string, save func(ctx context.Context, text string) error, saved string) {
	entry := newNoteEntry()
	entry.SetText(text)
	lines := strings.Split(text, "\n") // the cursor at the end, where a correction usually goes
	entry.CursorRow, entry.CursorColumn = len(lines)-1, len([]rune(lines[len(lines)-1]))
	entry.SetPlaceHolder("The note. Shift+Enter saves the draft.")
	f := cv.u.showChartForm(title, "Save draft", 720, []*chartField{newChartField("note", "Note", entry)},
		func(ctx context.Context, v map[string]string) error { return save(ctx, v["note"]) },
		cv.done(saved))
	f.leave = func(close func()) {
		if entry.Text == text {
			close()
			return
		}
		cv.u.confirmAction("Close without saving?", "The text you typed in this note will be lost.", "Close without saving", close)
	}
}

// noteHistory shows every version of a note: who wrote it, when, when it
// was signed, and its text. The chart read holds them all.
func (cv *chartView) noteHistory(t store.NoteThread) {
	list := container.NewVBox()
	for i, v := range t.Versions {
		what := "Original"
		if i > 0 {
			what = fmt.Sprintf("Amendment of version %d", versionOf(t, v.AmendsID))
		}
		state := "draft, not signed"
		if v.Status == store.NoteSigned {
			state = "signed " + when(v.SignedAt)
		}
		list.Add(wrappedHeading(fmt.Sprintf("Version %d · %s · written %s by %s · %s", i+1, what, when(v.CreatedAt),
			cv.nameOf(v.AuthorID), state)))
		body := widget.NewLabel(v.Body)
		body.Wrapping = fyne.TextWrapWord
		body.Selectable = true
		list.Add(body)
	}
	cv.u.showReadOnly("History of the note", list)
}
