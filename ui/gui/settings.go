package gui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
)

// The Settings tab (administrators): the clinic's settings, each checked
// against its bounds before anything is saved (the message beside the
// field says what is allowed) and each change saved through app, audited.
// The list comes from app.SettingKeys, so a setting app learns shows up
// here: the known ones with their words, any other by its key.

// settingGroup is one titled group of settings.
type settingGroup struct {
	title string
	keys  []string
}

// settingLabels name the known settings, bounds included.
var settingLabels = map[string]string{
	app.SettingPINWindow:       "Hours after a password sign-in during which the PIN unlocks (1 to 24)",
	app.SettingTOTPRoles:       "Roles that must use a second factor (an authenticator app) to sign in",
	app.SettingLockOnFocusLoss: "Lock when Ward's window loses focus or is minimised",
	app.SettingBackupFolder:    "Folder for scheduled backups (a full path on another disk; empty turns them off)",
	app.SettingBackupInterval:  "Hours between scheduled backups (1 to 168)",
	app.SettingBackupKeep:      "Scheduled backups to keep (1 to 365)",
	app.SettingDrillInterval:   "Days between restore drills (1 to 90)",
}

func init() {
	for i, r := range app.AllRoles {
		settingLabels[app.SettingIdlePrefix+r] = capital(roleChoices()[i]) + " (1 to 60 minutes)"
	}
}

// settingGroups lists the settings as the tab groups them; keys it does
// not name go under "Other settings".
func settingGroups(keys []string) []settingGroup {
	groups := []settingGroup{
		{title: "Lock a session after this many minutes without input"},
		{title: "Signing in"},
		{title: "Backups"},
		{title: "Other settings"},
	}
	for _, k := range keys {
		i := 3
		switch {
		case strings.HasPrefix(k, app.SettingIdlePrefix):
			i = 0
		case k == app.SettingLockOnFocusLoss:
			i = 0
		case k == app.SettingPINWindow, k == app.SettingTOTPRoles:
			i = 1
		case strings.HasPrefix(k, "backup."):
			i = 2
		}
		groups[i].keys = append(groups[i].keys, k)
	}
	return groups
}

// settingsView is the Settings tab.
type settingsView struct {
	tabView
	fields  map[string]*chartField // by setting key
	order   []string
	values  map[string]string // as last read
	save    *widget.Button
	revert  *widget.Button
	message *widget.Label
}

// settingsSection builds the Settings tab for s.
func (u *UI) settingsSection(s *app.Session) fyne.CanvasObject {
	v := &settingsView{tabView: tabView{u: u, s: s}, fields: map[string]*chartField{}}
	v.message = widget.NewLabel("")
	v.message.Wrapping = fyne.TextWrapWord
	v.message.Hide()
	v.save = widget.NewButtonWithIcon("Save changes", theme.DocumentSaveIcon(), v.saveChanges)
	v.save.Importance = widget.HighImportance
	v.revert = widget.NewButtonWithIcon("Undo changes", theme.ContentUndoIcon(), v.load)

	form := container.NewVBox()
	for _, g := range settingGroups(app.SettingKeys()) {
		if len(g.keys) == 0 {
			continue
		}
		form.Add(widget.NewLabelWithStyle(g.title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
		rows := container.New(layout.NewFormLayout())
		for _, k := range g.keys {
			f := v.field(k)
			v.fields[k] = f
			v.order = append(v.order, k)
			label, in := widget.NewLabel(f.label), f.input
			switch x := in.(type) {
			case *keyEntry: // a number or a path: no need for the whole width
				w := float32(120)
				if k == app.SettingBackupFolder {
					w = 420
				}
				in = container.NewHBox(container.NewGridWrap(fyne.NewSize(w, x.MinSize().Height), x))
			case *widget.Check: // the check box says what it is
				x.Text = f.label
				label.SetText("")
			}
			rows.Add(label)
			rows.Add(container.NewVBox(in, f.msg))
		}
		form.Add(rows)
		form.Add(widget.NewSeparator())
	}
	note := widget.NewLabel("Changes apply to sessions opened after they are saved. Every change is in the audit log.")
	note.Wrapping = fyne.TextWrapWord
	heading := widget.NewLabelWithStyle("Clinic settings", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	heading.SizeName = theme.SizeNameSubHeadingText
	top := container.NewVBox(container.NewBorder(nil, nil, heading, container.NewHBox(v.revert, v.save)), note, v.message)
	v.root = container.NewBorder(top, nil, nil, nil, container.NewVScroll(container.NewPadded(form)))
	v.shown = v.load
	v.ExtendBaseWidget(v)
	return v
}

// field is the input of setting key: check boxes for the roles that need
// a second factor, a check for lock-on-focus-loss, a text field otherwise.
func (v *settingsView) field(key string) *chartField {
	label := settingLabels[key]
	if label == "" {
		label = key
	}
	var in fyne.CanvasObject
	switch key {
	case app.SettingTOTPRoles:
		g := widget.NewCheckGroup(roleChoices(), nil)
		g.Horizontal = true
		in = g
	case app.SettingLockOnFocusLoss:
		in = widget.NewCheck("", nil)
	default:
		e := newKeyEntry("")
		e.OnSubmitted = func(string) { v.saveChanges() }
		in = e
	}
	return newChartField(key, label, in)
}

// value is what the field of key holds, as app stores it.
func (v *settingsView) value(key string) string {
	switch in := v.fields[key].input.(type) {
	case *widget.CheckGroup:
		return strings.Join(rolesOf(in.Selected), ",")
	case *widget.Check:
		if in.Checked {
			return "1"
		}
		return "0"
	}
	return v.fields[key].value()
}

// show puts the values read into the fields.
func (v *settingsView) show(vals map[string]string) {
	v.values = vals
	for k, f := range v.fields {
		f.showProblem("")
		val := vals[k]
		switch in := f.input.(type) {
		case *widget.CheckGroup:
			var names []string
			for _, r := range strings.Split(val, ",") {
				if r = strings.TrimSpace(r); r != "" {
					names = append(names, roleNames([]string{r})...)
				}
			}
			in.SetSelected(names)
		case *widget.Check:
			in.SetChecked(val == "1")
		case *keyEntry:
			in.SetText(val)
		}
	}
}

// load reads the settings in force.
func (v *settingsView) load() {
	var vals map[string]string
	v.u.work(func(ctx context.Context) error {
		var err error
		vals, err = v.s.Settings(ctx)
		return err
	}, func(err error) {
		if err != nil {
			showOutcome(v.message, sentence(err), true)
			return
		}
		v.show(vals)
	})
}

// saveChanges checks every changed value and, only if all are allowed,
// saves them one by one (each audited).
func (v *settingsView) saveChanges() {
	if v.values == nil || v.save.Disabled() {
		return
	}
	changed := map[string]string{}
	bad := 0
	for _, k := range v.order {
		f := v.fields[k]
		f.showProblem("")
		val := v.value(k)
		if val == v.values[k] {
			continue
		}
		if err := app.ValidateSetting(k, val); err != nil {
			f.showProblem(sentence(err))
			bad++
			continue
		}
		changed[k] = val
	}
	switch {
	case bad > 0:
		showOutcome(v.message, "Nothing was saved: correct the values marked below.", true)
		return
	case len(changed) == 0:
		showOutcome(v.message, "Nothing to save: no setting was changed.", false)
		return
	}
	var failed string
	v.save.Disable()
	v.u.work(func(ctx context.Context) error {
		for _, k := range v.order {
			if val, ok := changed[k]; ok {
				if err := v.s.SetSetting(ctx, k, val); err != nil {
					failed = k
					return err
				}
			}
		}
		return nil
	}, func(err error) {
		v.save.Enable()
		switch {
		case err == nil:
			showOutcome(v.message, fmt.Sprintf("Saved %d %s. They apply to sessions opened from now on.", len(changed), plural(len(changed), "setting")), false)
			v.load()
		case showFieldProblem(err, v.fields[failed]):
			showOutcome(v.message, "Not all changes were saved: correct the value marked below.", true)
		default:
			showOutcome(v.message, sentence(err), true)
		}
	})
}

// plural is "1 setting", "2 settings".
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
