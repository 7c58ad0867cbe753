package gui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store"
)

// The People tab (administrators and security officers): everyone with an
// account, their roles and whether they can sign in on this workstation;
// add a person, change roles, reset a password, lift a lockout, remove a
// lost phone's second factor, disable and enable. People are disabled,
// never deleted: their id keeps its meaning in the audit log.

// tabView is a tab whose records are read when it comes on screen, not
// when the shell is built: reads are audited, and a tab nobody opens
// should leave no entries. A view embeds it (tabView{u: u, s: s}), sets
// root and shown, and calls ExtendBaseWidget on itself.
type tabView struct {
	widget.BaseWidget
	u        *UI          // with s: shown waits until s's shell is in front
	s        *app.Session // (nil: shown runs at the first layout)
	root     fyne.CanvasObject
	shown    func() // each time the tab comes on screen; may be nil
	onScreen bool
}

// CreateRenderer draws the tab.
func (t *tabView) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(t.root) }

// Show is called as the tab comes on screen (and on every layout while it
// is there): shown runs when it arrives. The shell lays its tabs out while
// it builds them, before it is in the window: that layout does not count,
// so nothing is read for a shell that is not (yet) in front.
func (t *tabView) Show() {
	t.BaseWidget.Show()
	if t.onScreen || t.u != nil && !t.inFront() {
		return
	}
	t.onScreen = true
	if t.shown != nil {
		t.shown()
	}
}

// inFront tells whether t's session has its shell in the window.
func (t *tabView) inFront() bool {
	sh := t.u.current()
	return sh != nil && sh.s == t.s
}

// Hide is called when another tab is chosen.
func (t *tabView) Hide() {
	t.onScreen = false
	t.BaseWidget.Hide()
}

// peopleView is the People tab.
type peopleView struct {
	tabView
	accounts []app.Account
	chosen   string // username of the person whose card shows
	gen      int

	table   *widget.Table
	add     *widget.Button
	detail  *fyne.Container // the hint, a person's card, or the add form
	hint    fyne.CanvasObject
	message *widget.Label // the outcome of the last action

	// The card of the chosen person.
	card                  fyne.CanvasObject
	name, facts, status   *widget.Label
	roles                 *chartField // a CheckGroup
	saveRoles             *widget.Button
	password              *chartField
	resetPassword         *widget.Button
	unlock, resetTOTP     *widget.Button
	disable, enable       *widget.Button
	cardMessage           *widget.Label
	addForm               fyne.CanvasObject
	newUsername, newName  *chartField
	newRoles, newPassword *chartField
	addSubmit, addCancel  *widget.Button
	addMessage            *widget.Label
	busy                  bool // a change is on its way
}

// roleChoices are the roles as the check boxes name them, in app's order.
func roleChoices() []string { return roleNames(app.AllRoles) }

// rolesOf turns checked role names back into app's roles.
func rolesOf(names []string) []string {
	var out []string
	for i, n := range roleChoices() {
		for _, c := range names {
			if c == n {
				out = append(out, app.AllRoles[i])
			}
		}
	}
	return out
}

// peopleSection builds the People tab for s.
func (u *UI) peopleSection(s *app.Session) fyne.CanvasObject {
	v := &peopleView{tabView: tabView{u: u, s: s}}
	v.message = widget.NewLabel("")
	v.message.Wrapping = fyne.TextWrapWord
	v.message.Hide()
	v.add = widget.NewButtonWithIcon("Add person", theme.ContentAddIcon(), v.showAddForm)
	v.add.Importance = widget.HighImportance
	if !s.Allowed(app.ActUserCreate) {
		v.add.Hide()
	}
	v.buildTable()
	v.buildCard()
	v.buildAddForm()
	v.hint = container.NewCenter(widget.NewLabel("Choose a person to change their account, or add a new one."))
	v.detail = container.NewStack(v.hint)

	heading := widget.NewLabelWithStyle("People with an account", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	heading.SizeName = theme.SizeNameSubHeadingText
	left := container.NewBorder(container.NewVBox(container.NewBorder(nil, nil, heading, v.add), v.message), nil, nil, nil, v.table)
	split := container.NewHSplit(left, container.NewPadded(container.NewVScroll(v.detail)))
	split.Offset = 0.62 // the table's columns whole
	v.root, v.shown = split, v.load
	v.ExtendBaseWidget(v)
	return v
}

// peopleColumns are the table's columns.
var peopleColumns = []column{{"Name", 160}, {"Username", 100}, {"Roles", 240}, {"Can sign in", 220}}

func (v *peopleView) buildTable() {
	v.table = newTextTable(peopleColumns, func() int { return len(v.accounts) }, func(row, col int) string {
		a := v.accounts[row]
		switch col {
		case 0:
			return a.DisplayName
		case 1:
			return a.Username
		case 2:
			return strings.Join(roleNames(a.Roles), ", ")
		}
		return accountState(a, time.Now())
	})
	v.table.OnSelected = func(id widget.TableCellID) {
		if id.Row >= 0 && id.Row < len(v.accounts) {
			v.choose(v.accounts[id.Row].Username)
		}
	}
}

// showFieldProblem shows err under the field it is about, when it is an
// app ValidationError naming one of fields, and tells whether it did.
func showFieldProblem(err error, fields ...*chartField) bool {
	var ve *app.ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	for _, f := range fields {
		if f != nil && f.name == ve.Field {
			f.showProblem(sentence(err))
			return true
		}
	}
	return false
}

// column is one column of a text table: its title and width.
type column struct {
	title string
	width float32
}

// newTextTable is a table of text cells (cut short with … when too long)
// under bold column titles; cell is the text of a row's column.
func newTextTable(cols []column, rows func() int, cell func(row, col int) string) *widget.Table {
	t := widget.NewTableWithHeaders(
		func() (int, int) { return rows(), len(cols) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) {
			if id.Row < rows() {
				o.(*widget.Label).SetText(cell(id.Row, id.Col))
			}
		})
	t.ShowHeaderColumn = false
	t.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 {
			l := o.(*widget.Label)
			l.SetText(cols[id.Col].title)
			l.TextStyle.Bold = true
		}
	}
	for i, c := range cols {
		t.SetColumnWidth(i, c.width)
	}
	return t
}

// accountState says whether a can sign in here, and if not why.
func accountState(a app.Account, now time.Time) string {
	var s []string
	switch {
	case a.Disabled:
		s = append(s, "no: disabled")
	case a.Locked:
		s = append(s, "no: locked after wrong passwords")
	case a.Paused(now):
		s = append(s, fmt.Sprintf("paused until %s after %d wrong passwords", a.PausedUntil.Local().Format("15:04:05"), a.Failures))
	default:
		s = append(s, "yes")
	}
	if a.PINLocked && !a.Disabled {
		s = append(s, "PIN blocked")
	}
	if a.SecondFactor {
		s = append(s, "second factor on")
	}
	return strings.Join(s, "; ")
}

func (v *peopleView) buildCard() {
	v.name = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.name.SizeName = theme.SizeNameSubHeadingText
	v.facts = widget.NewLabel("")
	v.status = widget.NewLabel("")
	v.status.Wrapping = fyne.TextWrapWord
	v.cardMessage = widget.NewLabel("")
	v.cardMessage.Wrapping = fyne.TextWrapWord
	v.cardMessage.Hide()

	v.roles = newChartField("role", "Roles", widget.NewCheckGroup(roleChoices(), nil))
	v.roles.input.(*widget.CheckGroup).Horizontal = true
	v.saveRoles = widget.NewButtonWithIcon("Save roles", theme.DocumentSaveIcon(), v.setRoles)

	pw := newKeyEntry("a new password for them")
	pw.Password = true
	pw.OnSubmitted = func(string) { v.resetPass() }
	v.password = newChartField("password", "Reset their password", pw)
	v.resetPassword = widget.NewButtonWithIcon("Set new password", theme.ConfirmIcon(), v.resetPass)

	v.unlock = widget.NewButtonWithIcon("Unlock account", theme.LoginIcon(), v.unlockAccount)
	v.resetTOTP = widget.NewButtonWithIcon("Remove second factor…", theme.DeleteIcon(), v.removeTOTP)
	v.disable = widget.NewButtonWithIcon("Disable account…", theme.CancelIcon(), v.disableAccount)
	v.disable.Importance = widget.DangerImportance
	v.enable = widget.NewButtonWithIcon("Enable account", theme.ConfirmIcon(), v.enableAccount)

	box := container.NewVBox(v.name, v.facts, v.status, widget.NewSeparator())
	if v.s.Allowed(app.ActUserRoles) {
		box.Add(fieldBox(v.roles))
		box.Add(container.NewHBox(v.saveRoles))
	}
	if v.s.Allowed(app.ActPasswordReset) {
		box.Add(fieldBox(v.password))
		box.Add(container.NewHBox(v.resetPassword))
	}
	box.Add(widget.NewSeparator())
	box.Add(container.NewHBox(v.unlock, v.resetTOTP, v.disable, v.enable))
	box.Add(v.cardMessage)
	v.card = box
}

func (v *peopleView) buildAddForm() {
	submit := func(string) { v.addPerson() }
	user := newKeyEntry("letters, digits, . - _")
	user.OnSubmitted = submit
	name := newKeyEntry("as it shows in the window and the audit log")
	name.OnSubmitted = submit
	pw := newKeyEntry("at least 8 characters; a few unrelated words are best")
	pw.Password = true
	pw.OnSubmitted = submit
	for _, e := range []*keyEntry{user, name, pw} {
		e.onEsc = v.closeAddForm
	}
	v.newUsername = newChartField("username", "Username", user)
	v.newName = newChartField("name", "Full name", name)
	v.newRoles = newChartField("role", "Roles", widget.NewCheckGroup(roleChoices(), nil))
	v.newPassword = newChartField("password", "First password (tell it to them; they can change it)", pw)
	v.addSubmit = widget.NewButtonWithIcon("Add person", theme.ConfirmIcon(), v.addPerson)
	v.addSubmit.Importance = widget.HighImportance
	v.addCancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), v.closeAddForm)
	v.addMessage = widget.NewLabel("")
	v.addMessage.Wrapping = fyne.TextWrapWord
	v.addMessage.Hide()
	title := widget.NewLabelWithStyle("Add a person", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameSubHeadingText
	v.addForm = container.NewVBox(title, fieldBox(v.newUsername), fieldBox(v.newName), fieldBox(v.newRoles),
		fieldBox(v.newPassword), container.NewHBox(v.addSubmit, v.addCancel), v.addMessage)
}

// load reads the accounts again and shows the chosen person's card.
func (v *peopleView) load() {
	v.gen++
	gen := v.gen
	var as []app.Account
	v.u.work(func(ctx context.Context) error {
		var err error
		as, err = v.s.Accounts(ctx)
		return err
	}, func(err error) {
		if gen != v.gen {
			return
		}
		if err != nil {
			showOutcome(v.message, sentence(err), true)
			return
		}
		v.accounts = as
		v.table.Refresh()
		if v.chosen != "" && v.detail.Objects[0] == v.card {
			v.choose(v.chosen)
		}
	})
}

// account is the chosen person's account as last read.
func (v *peopleView) account() (app.Account, bool) {
	for _, a := range v.accounts {
		if a.Username == v.chosen {
			return a, true
		}
	}
	return app.Account{}, false
}

// choose shows username's card.
func (v *peopleView) choose(username string) {
	if v.chosen != username {
		showOutcome(v.cardMessage, "", false)
		v.password.input.(*keyEntry).SetText("")
		v.password.showProblem("")
		v.roles.showProblem("")
	}
	v.chosen = username
	a, ok := v.account()
	if !ok {
		v.showDetail(v.hint)
		return
	}
	v.name.SetText(a.DisplayName)
	v.facts.SetText(fmt.Sprintf("Username %s · %s · account since %s", a.Username,
		strings.Join(roleNames(a.Roles), ", "), a.CreatedAt.Local().Format("2006-01-02")))
	v.status.SetText("Can sign in on this workstation: " + accountState(a, time.Now()) + ".")
	v.roles.input.(*widget.CheckGroup).SetSelected(roleNames(a.Roles))
	mine := a.ID == v.s.User().ID
	allowed := v.s.Allowed
	showIf(v.unlock, allowed(app.ActUserUnlock) && (a.Locked || a.Paused(time.Now()) || a.PINLocked || a.Failures > 0))
	showIf(v.resetTOTP, allowed(app.ActPasswordReset) && a.SecondFactor)
	showIf(v.disable, allowed(app.ActUserDisable) && !a.Disabled && !mine)
	showIf(v.enable, allowed(app.ActUserEnable) && a.Disabled)
	v.showDetail(v.card)
}

// showIf shows o when on, hides it otherwise.
func showIf(o fyne.CanvasObject, on bool) {
	if on {
		o.Show()
	} else {
		o.Hide()
	}
}

func (v *peopleView) showDetail(o fyne.CanvasObject) {
	v.detail.Objects = []fyne.CanvasObject{o}
	v.detail.Refresh()
}

// change runs one change to the chosen person's account, then reads the
// accounts again and says what happened (or shows the problem under its
// field).
func (v *peopleView) change(done string, fields []*chartField, fn func(ctx context.Context) error) {
	if v.busy {
		return
	}
	for _, f := range fields {
		f.showProblem("")
	}
	v.busy = true
	v.u.work(fn, func(err error) {
		v.busy = false
		if err == nil {
			for _, f := range fields { // a password is not left on screen
				if e, ok := f.input.(*keyEntry); ok && e.Password {
					e.SetText("")
				}
			}
			showOutcome(v.cardMessage, done, false)
			v.load()
			return
		}
		if showFieldProblem(err, fields...) {
			showOutcome(v.cardMessage, "", false)
			return
		}
		showOutcome(v.cardMessage, sentence(err), true)
	})
}

func (v *peopleView) setRoles() {
	a, _ := v.account()
	roles := rolesOf(v.roles.input.(*widget.CheckGroup).Selected)
	v.change(fmt.Sprintf("%s's roles are now: %s.", a.DisplayName, strings.Join(roleNames(roles), ", ")), []*chartField{v.roles},
		func(ctx context.Context) error { return v.s.SetRoles(ctx, a.Username, roles) })
}

func (v *peopleView) resetPass() {
	a, _ := v.account()
	next := v.password.input.(*keyEntry).Text
	v.change(fmt.Sprintf("%s's password is reset. Tell them the new one; their PIN works again once they sign in with it.", a.DisplayName),
		[]*chartField{v.password}, func(ctx context.Context) error { return v.s.ResetPassword(ctx, a.Username, next) })
}

func (v *peopleView) unlockAccount() {
	a, _ := v.account()
	v.change(fmt.Sprintf("%s can try to sign in again on this workstation.", a.DisplayName), nil,
		func(ctx context.Context) error { return v.s.UnlockAccount(ctx, a.Username) })
}

func (v *peopleView) removeTOTP() {
	v.confirmChange("Remove the second factor?", "%s will sign in with the password alone until they set up a new second factor "+
		"(at once, if their role requires one). Do this when their phone is lost or replaced.",
		"Remove second factor", "%s's second factor is removed.", v.s.ResetTOTP)
}

func (v *peopleView) disableAccount() {
	v.confirmChange("Disable this account?", "%s will no longer be able to sign in on any workstation. Their entries stay "+
		"in the records and the audit log, and the account can be enabled again.",
		"Disable account", "%s's account is disabled.", v.s.DisableUser)
}

// confirmChange asks (question names the person with %s) before a change
// not lightly made, then makes it with fn and says done.
func (v *peopleView) confirmChange(title, question, action, done string, fn func(ctx context.Context, username string) error) {
	a, _ := v.account()
	v.u.confirmAction(title, fmt.Sprintf(question, a.DisplayName), action, func() {
		v.change(fmt.Sprintf(done, a.DisplayName), nil, func(ctx context.Context) error { return fn(ctx, a.Username) })
	})
}

func (v *peopleView) enableAccount() {
	a, _ := v.account()
	v.change(fmt.Sprintf("%s's account is enabled: they can sign in again.", a.DisplayName), nil,
		func(ctx context.Context) error { return v.s.EnableUser(ctx, a.Username) })
}

// showAddForm shows the empty form for a new person.
func (v *peopleView) showAddForm() {
	v.table.UnselectAll()
	for _, f := range []*chartField{v.newUsername, v.newName, v.newPassword} {
		f.input.(*keyEntry).SetText("")
		f.showProblem("")
	}
	v.newRoles.input.(*widget.CheckGroup).SetSelected(nil)
	v.newRoles.showProblem("")
	showOutcome(v.addMessage, "", false)
	v.showDetail(v.addForm)
	v.u.win.Canvas().Focus(v.newUsername.input.(*keyEntry))
}

func (v *peopleView) closeAddForm() {
	v.showDetail(v.hint)
	v.chosen = ""
}

// addPerson creates the account from the form.
func (v *peopleView) addPerson() {
	if v.addSubmit.Disabled() {
		return
	}
	n := app.NewUser{
		Username: v.newUsername.value(),
		Name:     v.newName.value(),
		Roles:    rolesOf(v.newRoles.input.(*widget.CheckGroup).Selected),
		Password: v.newPassword.input.(*keyEntry).Text, // as typed: spaces count
	}
	fields := []*chartField{v.newUsername, v.newName, v.newRoles, v.newPassword}
	for _, f := range fields {
		f.showProblem("")
	}
	showOutcome(v.addMessage, "", false)
	v.addSubmit.Disable()
	var added store.User
	v.u.work(func(ctx context.Context) error {
		var err error
		added, err = v.s.AddUser(ctx, n)
		return err
	}, func(err error) {
		v.addSubmit.Enable()
		if errors.Is(err, store.ErrUsernameTaken) {
			v.newUsername.showProblem(sentence(err))
			return
		}
		if showFieldProblem(err, fields...) {
			return
		}
		if err != nil {
			showOutcome(v.addMessage, sentence(err), true)
			return
		}
		v.chosen = added.Username
		v.showDetail(v.card)
		showOutcome(v.cardMessage, fmt.Sprintf("%s can now sign in as %s with the password you gave.", added.DisplayName, added.Username), false)
		v.load()
	})
}
