package gui

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store"
)

// patientSearch is the search box every screen that picks a patient uses:
// results as you type (FTS over names, MRN, phone, birth date), arrow keys
// and Enter or a tap to choose. Each search is one audited trip through
// the door (patient.search, with a count, never the words typed).
//
// Typing faster than the database answers does not queue searches: while
// one runs, only the newest text waits, and a result older than the text
// on screen is dropped.
type patientSearch struct {
	u        *UI
	s        *app.Session
	entry    *widget.Entry
	list     *widget.List
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
	ps.entry = widget.NewEntry()
	ps.entry.SetPlaceHolder("Search patients: name, MRN, phone or birth date (YYYY-MM-DD)")
	ps.entry.OnChanged = ps.typed
	ps.entry.OnSubmitted = func(string) { ps.choose(0) }
	ps.status = widget.NewLabel("")
	ps.list = widget.NewList(
		func() int { return len(ps.results) },
		func() fyne.CanvasObject {
			return container.NewGridWithColumns(4, widget.NewLabel("name"), widget.NewLabel("born"),
				widget.NewLabel("MRN"), widget.NewLabel("phone"))
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			p := ps.results[i]
			cells := o.(*fyne.Container).Objects
			cells[0].(*widget.Label).SetText(p.Name)
			cells[1].(*widget.Label).SetText("born " + p.BirthDate)
			cells[2].(*widget.Label).SetText(p.MRN)
			cells[3].(*widget.Label).SetText(p.Phone)
		})
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

// focus puts the cursor in the search box.
func (ps *patientSearch) focus() { ps.u.win.Canvas().Focus(ps.entry) }

// clear empties the box and the results (e.g. after a patient is chosen,
// so the next person at the desk starts afresh).
func (ps *patientSearch) clear() {
	ps.entry.SetText("")
	ps.show("", nil, nil)
}
