package gui

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store"
)

// patientSearch is the search box every screen that picks a patient uses:
// results as you type (FTS over names, MRN, phone, birth date); Enter
// chooses the first, Down goes into the list (arrow keys, then Enter or
// Space), and a tap chooses any. Each search is one audited trip through
// the door (patient.search, with a count, never the words typed).
//
// Typing faster than the database answers does not queue searches: while
// one runs, only the newest text waits, and a result older than the text
// on screen is dropped.
type patientSearch struct {
	u        *UI
	s        *app.Session
	entry    *keyEntry // Esc does what onEsc says (close a picker dialog)
	list     *resultList
	status   *widget.Label
	results  []store.Patient
	onChosen func(store.Patient)
	content  fyne.CanvasObject

	mu      sync.Mutex
	running bool
	next    *string // the newest text typed while a search ran
	shown   string  // the text the results on screen answer

	// painted, when set, is told the text whose results were just put on
	// screen (the search-as-you-type benchmark and tests wait on it).
	painted func(query string)
}

// searchLimit is how many matches a search shows.
const searchLimit = 50

// newPatientSearch makes a search box for s; onChosen runs on the Fyne
// goroutine with the patient picked.
func (u *UI) newPatientSearch(s *app.Session, onChosen func(store.Patient)) *patientSearch {
	ps := &patientSearch{u: u, s: s, onChosen: onChosen}
	ps.entry = newKeyEntry("Search patients: name, MRN, phone or birth date (YYYY-MM-DD)")
	ps.entry.OnChanged = ps.typed
	ps.entry.OnSubmitted = func(string) { ps.choose(0) }
	ps.status = widget.NewLabel("")
	ps.list = &resultList{}
	ps.list.Length = func() int { return len(ps.results) }
	ps.list.CreateItem = func() fyne.CanvasObject { // the name takes the room the columns leave, cut short with "…"
		name := widget.NewLabel("name")
		name.Truncation = fyne.TextTruncateEllipsis
		return container.NewBorder(nil, nil, nil, container.NewHBox(resultColumn("born 0000-00-00"),
			resultColumn("00000000"), resultColumn("555-000-0000")), name)
	}
	ps.list.UpdateItem = func(i widget.ListItemID, o fyne.CanvasObject) {
		p := ps.results[i]
		row := o.(*fyne.Container).Objects
		row[0].(*widget.Label).SetText(p.Name)
		cols := row[1].(*fyne.Container).Objects
		for j, text := range []string{"born " + p.BirthDate, p.MRN, p.Phone} {
			cols[j].(*fyne.Container).Objects[0].(*widget.Label).SetText(text)
		}
	}
	ps.list.OnHighlighted = func(i widget.ListItemID) { ps.list.highlighted = i }
	ps.list.back = ps.focus
	ps.list.ExtendBaseWidget(ps.list)
	ps.entry.onDown = func() {
		if len(ps.results) > 0 {
			ps.list.Highlight(0)
			ps.u.win.Canvas().Focus(ps.list)
		}
	}
	ps.list.OnSelected = func(i widget.ListItemID) {
		ps.list.UnselectAll()
		ps.choose(i)
	}
	ps.content = container.NewBorder(container.NewVBox(ps.entry, ps.status), nil, nil, nil, ps.list)
	return ps
}

// typed starts a search for text, or keeps it as the next one.
func (ps *patientSearch) typed(text string) {
	ps.mu.Lock()
	if ps.running {
		ps.next = &text
		ps.mu.Unlock()
		return
	}
	ps.running = true
	ps.mu.Unlock()
	ps.search(text)
}

// search runs one query off the Fyne goroutine, then the next waiting one.
func (ps *patientSearch) search(text string) {
	q := strings.TrimSpace(text)
	var found []store.Patient
	ps.u.work(func(ctx context.Context) error {
		if q == "" {
			return nil
		}
		var err error
		found, err = ps.s.SearchPatients(ctx, q, searchLimit)
		return err
	}, func(err error) {
		ps.mu.Lock()
		next := ps.next
		ps.next = nil
		ps.running = next != nil
		ps.mu.Unlock()
		if next != nil && *next != text {
			ps.search(*next) // the answer to an older text is not worth painting
			return
		}
		ps.show(q, found, err)
	})
}

// show puts results on screen.
func (ps *patientSearch) show(q string, found []store.Patient, err error) {
	ps.results = found
	ps.shown = q
	switch {
	case err != nil:
		ps.status.SetText(sentence(err))
	case q == "":
		ps.status.SetText("")
	case len(found) == 0:
		ps.status.SetText(fmt.Sprintf("No patient matches %q.", q))
	case len(found) == searchLimit:
		ps.status.SetText(fmt.Sprintf("The first %d matches: type more to narrow them.", searchLimit))
	default:
		ps.status.SetText(fmt.Sprintf("%d matching", len(found)))
	}
	ps.list.Refresh()
	ps.list.ScrollToTop()
	if ps.painted != nil {
		ps.painted(q)
	}
}

// choose picks result i (Enter picks the first).
func (ps *patientSearch) choose(i int) {
	if i < 0 || i >= len(ps.results) || ps.onChosen == nil {
		return
	}
	ps.onChosen(ps.results[i])
}

// refresh searches again for the text in the box (after a change that
// may have changed the answer: an edit, a merge).
func (ps *patientSearch) refresh() { ps.typed(ps.entry.Text) }

// focus puts the cursor in the search box.
// Not before the box is in the window: Fyne would refuse and log it (the
// callers try again at the next layout).
func (ps *patientSearch) focus() {
	if fyne.CurrentApp().Driver().CanvasForObject(ps.entry) != ps.u.win.Canvas() {
		return
	}
	ps.u.win.Canvas().Focus(ps.entry)
}

// clear empties the box and the results (e.g. after a patient is chosen,
// so the next person at the desk starts afresh).
func (ps *patientSearch) clear() {
	ps.entry.SetText("")
	ps.show("", nil, nil)
}

// resultList is the list of matches: Enter, as well as Space, chooses the
// one highlighted; Esc, or Up from the first, goes back to the search box.
type resultList struct {
	widget.List
	highlighted widget.ListItemID
	back        func()
}

// TypedKey chooses on Enter and goes back on Esc or Up from the top.
func (l *resultList) TypedKey(ev *fyne.KeyEvent) {
	switch {
	case ev.Name == fyne.KeyReturn || ev.Name == fyne.KeyEnter:
		l.Select(l.highlighted)
	case ev.Name == fyne.KeyEscape || (ev.Name == fyne.KeyUp && l.highlighted == 0):
		l.back()
	default:
		l.List.TypedKey(ev)
	}
}

// keyEntry is a text box in which Esc does what onEsc says (a formEntry)
// and the window's own shortcuts still work: a plain Entry takes every
// Ctrl+letter for itself, so Ctrl+L (lock) and Ctrl+N (new patient) would
// do nothing while the cursor is in a field. In a one-line box, Down does
// what onDown says, when set (go into a list of choices).
type keyEntry struct {
	formEntry
	onDown func()
}

// TypedKey hands Down to onDown.
func (e *keyEntry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyDown && e.onDown != nil && !e.MultiLine {
		e.onDown()
		return
	}
	e.formEntry.TypedKey(ev)
}

func newKeyEntry(placeholder string) *keyEntry {
	e := &keyEntry{}
	e.ExtendBaseWidget(e)
	e.SetPlaceHolder(placeholder)
	return e
}

// TypedShortcut hands Ctrl+letter shortcuts to the window: an Entry has no
// use for any of them (copy, paste, undo and select all are shortcuts of
// their own kind, not Ctrl+letter ones).
func (e *keyEntry) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok && len(cs.KeyName) == 1 && cs.KeyName >= "A" && cs.KeyName <= "Z" {
		if c, ok := fyne.CurrentApp().Driver().CanvasForObject(e).(fyne.Shortcutable); ok {
			c.TypedShortcut(s)
			return
		}
	}
	e.Entry.TypedShortcut(s)
}

// resultColumn is a result column as wide as sample, so that the rows'
// columns line up and the name beside them is never overlapped. Its text
// is not cut short: fixed formats fit, and cutting (measuring the text
// again and again) doubled the time to paint a keystroke's results.
func resultColumn(sample string) fyne.CanvasObject {
	return container.New(fixedWidth(widget.NewLabel(sample).MinSize().Width), widget.NewLabel(""))
}
