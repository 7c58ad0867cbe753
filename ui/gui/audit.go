package gui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store/audit"
)

// The Audit tab, the security officer's: the audit log newest first, a
// page at a time (each page is one keyset query, so the millionth entry
// costs what the first does), filtered by time, person, patient, action
// and outcome; "Verify chain" checks every chain and checkpoint with
// progress; "Export…" writes the entries the filters select, with the
// signed manifest, in JSON Lines, CSV or FHIR. An administrator, who may
// verify but not read the log, sees only the verification.

// auditPageSize is how many entries a page shows.
const auditPageSize = 100

// auditView is the Audit tab.
type auditView struct {
	tabView

	names   map[string]string // user id → display name
	persons map[string]string // person choice → the filter's user (username or id)

	// Filters, and those applied to the page showing (the export uses
	// these: what it writes is what the person looked at).
	from, to, patient, action *chartField
	person, outcome           *chartField
	apply, reset              *widget.Button
	review                    audit.Review

	table     *widget.Table
	page      []audit.Entry
	before    []*audit.Cursor // Before of each page gone through; the last is the page showing's
	hasOlder  bool
	gen       int
	newest    *widget.Button
	newer     *widget.Button
	older     *widget.Button
	stop      *widget.Button // while a page is read: a filter nothing matches reads the whole log
	stopRead  context.CancelFunc
	pageLabel *widget.Label
	message   *widget.Label // why a page could not be read

	verify, export *widget.Button
	evidence       *widget.Button // the 164.312 evidence report (compliance.go)
	result         *widget.Label  // the last verification, export or report, in words
}

// Choices of the person and outcome filters.
const (
	anyone     = "Anyone"
	anyOutcome = "Any outcome"
)

// auditSection builds the Audit tab for s.
func (u *UI) auditSection(s *app.Session) fyne.CanvasObject {
	v := &auditView{tabView: tabView{u: u, s: s}, names: map[string]string{}, persons: map[string]string{}}
	v.result = widget.NewLabel("")
	v.result.Wrapping = fyne.TextWrapWord
	v.result.Selectable = true
	v.result.Hide()

	var tools []fyne.CanvasObject
	if s.Allowed(app.ActAuditVerify) {
		v.verify = widget.NewButtonWithIcon("Verify chain", theme.ConfirmIcon(), v.verifyChain)
		tools = append(tools, v.verify)
	}
	if s.Allowed(app.ActAuditExport) {
		v.export = widget.NewButtonWithIcon("Export…", theme.DocumentSaveIcon(), v.showExport)
		tools = append(tools, v.export)
	}
	if s.Allowed(app.ActComplianceReport) {
		v.evidence = widget.NewButtonWithIcon("164.312 evidence report…", theme.DocumentIcon(), v.saveComplianceReport)
		tools = append(tools, v.evidence)
	}
	heading := widget.NewLabelWithStyle("Audit log", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	heading.SizeName = theme.SizeNameSubHeadingText
	bar := container.NewBorder(nil, nil, heading, container.NewHBox(tools...))

	if !s.Allowed(app.ActAuditRead) {
		note := widget.NewLabel("Verifying the chain checks that no entry was changed, removed or added outside Ward. " +
			"Reading the log itself is the security officer's.")
		note.Wrapping = fyne.TextWrapWord
		v.root = container.NewBorder(container.NewVBox(bar, note, v.result), nil, nil, nil, nil)
		v.ExtendBaseWidget(v)
		return v
	}

	v.buildFilters()
	v.buildTable()
	v.message = widget.NewLabel("")
	v.message.Wrapping = fyne.TextWrapWord
	v.message.Hide()
	v.pageLabel = widget.NewLabel("")
	v.newest = widget.NewButtonWithIcon("Newest", theme.MediaSkipPreviousIcon(), func() { v.load(v.review, v.before[:1]) })
	v.newer = widget.NewButtonWithIcon("Newer", theme.NavigateBackIcon(), func() { v.load(v.review, v.before[:len(v.before)-1]) })
	v.older = widget.NewButtonWithIcon("Older", theme.NavigateNextIcon(), func() {
		v.load(v.review, append(v.before[:len(v.before):len(v.before)], audit.CursorOf(v.page[len(v.page)-1])))
	})
	v.stop = widget.NewButtonWithIcon("Stop", theme.MediaStopIcon(), func() {
		if v.stopRead != nil {
			v.stopRead()
		}
	})
	v.stop.Hide()
	v.newest.Disable()
	v.newer.Disable()
	v.older.Disable()
	pager := container.NewBorder(nil, nil, v.pageLabel, container.NewHBox(v.stop, v.newest, v.newer, v.older))

	filters := container.NewGridWithColumns(3,
		filterBox(v.from), filterBox(v.to), filterBox(v.person),
		filterBox(v.patient), filterBox(v.action), filterBox(v.outcome))
	top := container.NewVBox(bar, v.result, filters, container.NewHBox(v.apply, v.reset), v.message, widget.NewSeparator())
	v.root, v.shown = container.NewBorder(top, pager, nil, nil, v.table), v.start
	v.ExtendBaseWidget(v)
	return v
}

// fieldBox lays out one field: its label, the input, the line for its
// problem.
func fieldBox(f *chartField) fyne.CanvasObject {
	return container.NewVBox(widget.NewLabelWithStyle(f.label, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), f.input, f.msg)
}

// filterBox lays out one filter: its label before the input (the table
// below gets the height), the line for its problem under both.
func filterBox(f *chartField) fyne.CanvasObject {
	l := widget.NewLabelWithStyle(f.label, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	return container.NewVBox(container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSize(86, l.MinSize().Height), l), nil, f.input), f.msg)
}

func (v *auditView) buildFilters() {
	entry := func(placeholder string) *keyEntry {
		e := newKeyEntry(placeholder)
		e.OnSubmitted = func(string) { v.applyFilters() }
		return e
	}
	v.from = newChartField("from", "From", entry("YYYY-MM-DD [HH:MM]"))
	v.to = newChartField("to", "To", entry("YYYY-MM-DD [HH:MM]"))
	v.patient = newChartField("patient", "Patient", entry("the patient's record id"))
	v.action = newChartField("action", "Action", entry("chart.read, or user. for all user.*"))
	v.person = newChartField("person", "Person", widget.NewSelect([]string{anyone}, nil))
	v.person.input.(*widget.Select).SetSelected(anyone)
	outcomes := widget.NewSelect([]string{anyOutcome, audit.OutcomeSuccess, audit.OutcomeDenied, audit.OutcomeFailure}, nil)
	outcomes.SetSelected(anyOutcome)
	v.outcome = newChartField("outcome", "Outcome", outcomes)
	v.apply = widget.NewButtonWithIcon("Show entries", theme.SearchIcon(), v.applyFilters)
	v.apply.Importance = widget.HighImportance
	v.reset = widget.NewButtonWithIcon("Clear filters", theme.ContentClearIcon(), func() {
		for _, f := range []*chartField{v.from, v.to, v.patient, v.action} {
			f.input.(*keyEntry).SetText("")
		}
		v.person.input.(*widget.Select).SetSelected(anyone)
		v.outcome.input.(*widget.Select).SetSelected(anyOutcome)
		v.applyFilters()
	})
}

// auditColumns are the table's columns.
var auditColumns = []column{{"Time", 170}, {"Person", 170}, {"Action", 170}, {"Patient", 130}, {"Outcome", 90}, {"Detail", 520}}

func (v *auditView) buildTable() {
	v.table = newTextTable(auditColumns, func() int { return len(v.page) }, func(row, col int) string { return v.cell(v.page[row], col) })
	v.table.OnSelected = func(id widget.TableCellID) {
		v.table.UnselectAll()
		if id.Row >= 0 && id.Row < len(v.page) {
			v.showEntry(v.page[id.Row])
		}
	}
}

// cell is what column col shows of e.
func (v *auditView) cell(e audit.Entry, col int) string {
	switch col {
	case 0:
		return e.Time.Local().Format("2006-01-02 15:04:05")
	case 1:
		return v.nameOf(e.User)
	case 2:
		return e.Action
	case 3:
		return e.Patient
	case 4:
		return e.Outcome
	}
	return e.Detail
}

// nameOf is a person as the log shows them: their name, or what Ward
// itself is called in the chain.
func (v *auditView) nameOf(id string) string {
	switch {
	case v.names[id] != "":
		return v.names[id]
	case id == app.SystemUser:
		return "Ward itself"
	case id == app.EmergencyKitUser:
		return "Emergency kit"
	}
	return id
}

// showEntry shows one entry whole, for reading and copying.
func (v *auditView) showEntry(e audit.Entry) {
	line := func(k, val string) fyne.CanvasObject {
		l := widget.NewLabel(val)
		l.Wrapping = fyne.TextWrapWord
		l.Selectable = true
		return container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSize(110, 0), widget.NewLabelWithStyle(k, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})), nil, l)
	}
	who := v.nameOf(e.User)
	if who != e.User {
		who += " (" + e.User + ")"
	}
	box := container.NewVBox(
		line("Time", e.Time.Local().Format("2006-01-02 15:04:05.000 MST")),
		line("Person", who), line("Action", e.Action), line("Outcome", e.Outcome),
		line("Patient", e.Patient), line("Detail", e.Detail),
		line("Workstation", v.nodeName(e.Node)), line("Entry", fmt.Sprintf("number %d of its chain", e.Seq)))
	if e.Grant != "" {
		box.Add(line("Emergency grant", e.Grant))
	}
	v.u.showReadOnly("Audit entry", box)
}

// nodeName names a workstation's chain.
func (v *auditView) nodeName(id string) string {
	if n := v.u.clinic.Node(); n.ID == id {
		return fmt.Sprintf("this workstation, %s (%s)", n.Name, id)
	}
	return "workstation " + id
}

// start reads the people's names and the first page when the tab first
// comes on screen.
func (v *auditView) start() {
	if v.before != nil {
		return
	}
	v.before = []*audit.Cursor{nil}
	var users []string
	v.u.work(func(ctx context.Context) error {
		us, err := v.s.Users(ctx)
		if err != nil {
			return err
		}
		for _, p := range us {
			v.names[p.ID] = p.DisplayName
			choice := fmt.Sprintf("%s (%s)", p.DisplayName, p.Username)
			v.persons[choice] = p.Username
			users = append(users, choice)
		}
		return nil
	}, func(err error) {
		if err == nil {
			for _, c := range []struct{ name, id string }{{"Ward itself", app.SystemUser}, {"Emergency kit", app.EmergencyKitUser}} {
				v.persons[c.name] = c.id
				users = append(users, c.name)
			}
			v.person.input.(*widget.Select).SetOptions(append([]string{anyone}, users...))
		}
		v.load(v.review, v.before)
	})
}

// applyFilters checks the filters and shows the newest page they select.
func (v *auditView) applyFilters() {
	if r, ok := v.filters(); ok {
		v.load(r, []*audit.Cursor{nil})
	}
}

// filters reads the filter fields, showing under each what is wrong.
func (v *auditView) filters() (audit.Review, bool) {
	var r audit.Review
	ok := true
	for _, f := range []*chartField{v.from, v.to, v.patient, v.action} {
		f.showProblem("")
	}
	var err error
	if r.From, err = parseFilterTime(v.from.value(), false); err != nil {
		v.from.showProblem(sentence(err))
		ok = false
	}
	if r.To, err = parseFilterTime(v.to.value(), true); err != nil {
		v.to.showProblem(sentence(err))
		ok = false
	}
	if ok && !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
		v.to.showProblem("The end is before the start: the log would show nothing.")
		ok = false
	}
	r.Patient = v.patient.value()
	r.Action = v.action.value()
	if strings.ContainsAny(r.Action, " *%") {
		v.action.showProblem("Type one action (chart.read), or the start of one ending in a dot (user.) for all of them.")
		ok = false
	}
	r.User = v.persons[v.person.value()]
	if o := v.outcome.value(); o != anyOutcome {
		r.Outcome = o
	}
	return r, ok
}

// parseFilterTime reads a filter time in local time: a date, or a date and
// a time to the minute. A date alone as the end means the whole day.
func parseFilterTime(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04", s, time.Local); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, time.Local)
	if err != nil {
		return time.Time{}, fmt.Errorf("type YYYY-MM-DD or YYYY-MM-DD HH:MM (for example %s)", time.Now().Format("2006-01-02 15:04"))
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// load reads the page of r that starts after before's last cursor (one
// more entry than shown, to know whether there is an older page), and
// shows it with r and before as the page's. A read that fails or is
// stopped leaves the page shown as it was.
func (v *auditView) load(r audit.Review, before []*audit.Cursor) {
	if v.stopRead != nil {
		v.stopRead() // the person asked for another page: the last one is not wanted
	}
	v.gen++
	gen := v.gen
	ctx, stop := context.WithCancel(v.u.ctx)
	v.stopRead = stop
	q := r
	q.Before = before[len(before)-1]
	q.Limit = auditPageSize + 1
	var page []audit.Entry
	v.reading(true)
	v.u.work(func(context.Context) error {
		var err error
		page, err = v.s.ReviewAudit(ctx, q)
		return err
	}, func(err error) {
		stopped := ctx.Err() != nil
		stop()
		if gen != v.gen {
			return
		}
		v.stopRead = nil
		v.reading(false)
		switch {
		case err != nil && stopped: // the form the error takes depends on where the read was
			showOutcome(v.message, "Stopped: the entries shown are those of the last page read.", true)
			return
		case err != nil:
			showOutcome(v.message, sentence(err), true)
			return
		}
		showOutcome(v.message, "", false)
		v.review, v.before = r, before
		v.hasOlder = len(page) > auditPageSize
		if v.hasOlder {
			page = page[:auditPageSize]
		}
		v.page = page
		v.table.Refresh()
		v.table.ScrollToTop()
		v.showPager()
	})
}

// reading shows Stop while a page is read, and the ways to page when not.
func (v *auditView) reading(on bool) {
	if on {
		v.pageLabel.SetText("Reading the log…")
		v.stop.Show()
		for _, b := range []*widget.Button{v.apply, v.newest, v.newer, v.older} {
			b.Disable()
		}
		return
	}
	v.stop.Hide()
	v.apply.Enable()
	v.showPager()
}

// showPager says which page shows and which ways one can page.
func (v *auditView) showPager() {
	n := len(v.before)
	switch {
	case len(v.page) == 0 && n == 1:
		v.pageLabel.SetText("No entries match these filters.")
	case len(v.page) == 0:
		v.pageLabel.SetText(fmt.Sprintf("Page %d: no older entries.", n))
	default:
		first := (n-1)*auditPageSize + 1
		v.pageLabel.SetText(fmt.Sprintf("Page %d: entries %s–%s, newest first (%s back to %s).", n,
			count(uint64(first)), count(uint64(first+len(v.page)-1)),
			v.page[0].Time.Local().Format("2006-01-02 15:04"), v.page[len(v.page)-1].Time.Local().Format("2006-01-02 15:04")))
	}
	enable(v.newest, n > 1)
	enable(v.newer, n > 1)
	enable(v.older, v.hasOlder)
}

// enable enables or disables b.
func enable(b *widget.Button, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

// verifyChain checks every chain and checkpoint, with progress, and says
// what it found.
func (v *auditView) verifyChain() {
	var rep audit.Report
	v.u.longTask("Verifying the audit chain", func(ctx context.Context, progress func(done, total uint64)) error {
		var err error
		rep, err = v.s.VerifyAudit(ctx, progress)
		return err
	}, func(err error) {
		switch {
		case errors.Is(err, context.Canceled):
			showOutcome(v.result, "Verification stopped before the end: it found nothing either way. Start it again to check the whole log.", true)
		case err != nil:
			showOutcome(v.result, sentence(err), true)
		default:
			showOutcome(v.result, v.reportText(rep), !rep.OK())
		}
	})
}

// problemWords say what a kind of damage means.
var problemWords = map[audit.ProblemKind]string{
	audit.HashMismatch:       "the entry was changed after it was written",
	audit.Gap:                "the entry is missing while later ones are there (it was deleted)",
	audit.Reorder:            "the entry was moved from another place in the chain",
	audit.BadSignature:       "the signed checkpoint there is not signed by the workstation's key",
	audit.Truncated:          "entries from there on were removed, although a signed checkpoint shows they existed",
	audit.UnknownNode:        "the chain belongs to a workstation whose key this one does not know",
	audit.CheckpointMismatch: "the chain was rewritten: a signed checkpoint vouches for different entries",
}

// reportText is a verification's result in words.
func (v *auditView) reportText(rep audit.Report) string {
	var b strings.Builder
	var total uint64
	for _, c := range rep.Chains {
		total += c.Entries
	}
	chains := "chain"
	if len(rep.Chains) != 1 {
		chains = "chains"
	}
	if p := rep.Problem; p != nil {
		what := problemWords[p.Kind]
		if what == "" {
			what = string(p.Kind)
		}
		fmt.Fprintf(&b, "The audit log is NOT intact. In the chain of %s, at entry %s: %s", v.nodeName(p.Node), count(p.Seq), what)
		if p.Detail != "" {
			fmt.Fprintf(&b, " (%s)", p.Detail)
		}
		b.WriteString(". Keep this workstation as it is, export the log, and tell the person responsible for the clinic's security.")
		return b.String()
	}
	fmt.Fprintf(&b, "The audit log is intact: %s entries in %d %s, checked %s.", count(total), len(rep.Chains), chains,
		time.Now().Format("2006-01-02 15:04"))
	for _, c := range rep.Chains {
		cp := "no signed checkpoint yet"
		if c.LastCheckpoint != nil {
			cp = fmt.Sprintf("last signed checkpoint at entry %s, %s", count(c.LastCheckpoint.Seq),
				c.LastCheckpoint.Time.Local().Format("2006-01-02 15:04"))
		}
		fmt.Fprintf(&b, "\n%s: %s entries, %s.", capital(v.nodeName(c.Node)), count(c.Entries), cp)
	}
	return b.String()
}

// exportFormats are the export formats as the dialog names them.
var exportFormats = []struct {
	name string
	f    audit.Format
	ext  string
}{{"JSON Lines", audit.JSONL, ".jsonl"}, {"CSV (spreadsheets)", audit.CSV, ".csv"}, {"FHIR R4 AuditEvent", audit.FHIR, ".json"}}

// showExport asks for the format and the file, then exports the entries
// the filters showing select.
func (v *auditView) showExport() {
	names := make([]string, len(exportFormats))
	for i, f := range exportFormats {
		names[i] = f.name
	}
	format := widget.NewRadioGroup(names, nil)
	format.Required = true
	format.SetSelected(names[0])
	file := newKeyEntry("")
	home, _ := os.UserHomeDir()
	stem := "ward-audit-" + time.Now().Format("20060102-1504")
	file.SetText(filepath.Join(home, stem+exportFormats[0].ext))
	format.OnChanged = func(name string) { // follow the format while the name is ours
		for _, f := range exportFormats {
			if name == f.name && strings.HasPrefix(filepath.Base(file.Text), stem+".") {
				file.SetText(strings.TrimSuffix(file.Text, filepath.Ext(file.Text)) + f.ext)
			}
		}
	}
	var chosen string // a file the file browser created (empty) for us
	browse := widget.NewButtonWithIcon("Choose in a file browser…", theme.FolderOpenIcon(), func() {
		v.u.askSavePath(filepath.Base(file.Text), filepath.Dir(file.Text), func(path string) {
			chosen = path
			file.SetText(path)
		}, nil)
	})
	scope := widget.NewLabel(v.exportScope())
	scope.Wrapping = fyne.TextWrapWord

	fields := []*chartField{
		newChartField("scope", "What is exported", scope),
		newChartField("format", "Format", format),
		newChartField("file", "File (the signed manifest is written beside it)", file),
		newChartField("browse", "Or", browse),
	}
	var path string
	var f audit.Format
	v.u.showChartForm("Export the audit log", "Export", 560, fields, func(_ context.Context, val map[string]string) error {
		path = strings.TrimSpace(val["file"])
		for _, x := range exportFormats {
			if x.name == val["format"] {
				f = x.f
			}
		}
		return checkExportPath(path)
	}, func() { v.runExport(path, f, path == chosen) })
}

// checkExportPath refuses a file the export cannot be written to, before
// any work starts.
func checkExportPath(path string) error {
	bad := func(why string) error { return &app.ValidationError{Field: "file", Problem: why} }
	switch {
	case path == "":
		return bad("type where the export goes: a full path, like /media/usb/audit.csv")
	case !filepath.IsAbs(path):
		return bad("give the full path of the file, starting with /")
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return bad("that is a folder: add a file name to it")
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
		return bad("the folder " + filepath.Dir(path) + " does not exist")
	}
	return nil
}

// exportScope says which entries an export writes: the filters showing
// that exports take (time, person, patient).
func (v *auditView) exportScope() string {
	r := v.review
	var parts []string
	if !r.From.IsZero() {
		parts = append(parts, "from "+r.From.Format("2006-01-02 15:04"))
	}
	if !r.To.IsZero() {
		parts = append(parts, "before "+r.To.Format("2006-01-02 15:04"))
	}
	if r.User != "" {
		parts = append(parts, "by "+v.person.value())
	}
	if r.Patient != "" {
		parts = append(parts, "about patient "+r.Patient)
	}
	what := "Every entry of the log"
	if len(parts) > 0 {
		what = "The entries " + strings.Join(parts, ", ")
	}
	if r.Action != "" || r.Outcome != "" {
		what += " (the action and outcome filters do not apply to exports: the export keeps whole stretches of the chain so it can be verified)"
	}
	return what + "."
}

// runExport writes the export with progress and shows its manifest. A file
// the file browser created empty is removed if the export did not happen.
func (v *auditView) runExport(path string, f audit.Format, fromBrowser bool) {
	flt := v.review.Filter
	var man audit.Manifest
	v.u.longTask("Exporting the audit log", func(ctx context.Context, _ func(done, total uint64)) error {
		var err error
		man, err = v.s.ExportAudit(ctx, path, f, flt)
		return err
	}, func(err error) {
		if err != nil {
			if st, serr := os.Stat(path); fromBrowser && serr == nil && st.Size() == 0 {
				os.Remove(path)
			}
			if errors.Is(err, context.Canceled) {
				showOutcome(v.result, "The export was cancelled: no file was written.", true)
				return
			}
			showOutcome(v.result, sentence(err), true)
			return
		}
		showOutcome(v.result, v.manifestText(path, man), false)
	})
}

// manifestText sums up an export's manifest: what to compare when the
// export is checked elsewhere (ward audit verify-export).
func (v *auditView) manifestText(path string, m audit.Manifest) string {
	format := string(m.Format)
	for _, f := range exportFormats {
		if f.f == m.Format {
			format = f.name
		}
	}
	return fmt.Sprintf("Exported %s entries as %s to %s.\nManifest: %s\nSHA-256 of the export: %x\n"+
		"Signed by %s with key %s. Check it on any computer with: ward audit verify-export %s",
		count(m.Entries), format, path, app.ManifestPath(path), m.SHA256, v.nodeName(m.Exporter), audit.Fingerprint(m.ExporterKey), path)
}
