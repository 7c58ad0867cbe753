package gui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store"
	"ward/store/audit"
)

// The Workstations tab (administrators and security officers): this
// workstation on the clinic's network, every other workstation (last
// contact, how far behind its copy is, removed or not), segments refused
// here, workstations waiting to join, and the encrypted off-site copies.
// Administrators also invite, approve, decline, remove and retry. Everything
// goes through app (the same functions as `ward sync ...`).
//
// While the tab shows it reads the overview again every few seconds, not
// audited and not counted as the person's activity (app.SyncOverview); it
// stops when another tab is chosen, the session locks or the window closes.

// workstationsRefresh is how often an open Workstations tab reads again:
// the running node records what it sees every 5 s.
const workstationsRefresh = 5 * time.Second

// workstationsView is the Workstations tab.
type workstationsView struct {
	tabView
	admin   bool
	invite  *widget.Button
	message *widget.Label // the outcome of the last action
	body    *fyne.Container
	drawn   string // the text now showing: an unchanged overview is not drawn again
	busy    bool   // an action is on its way

	sh      *shell      // the shell the tab was shown in: a lock or switch replaces it
	visible atomic.Bool // on screen (set on the Fyne goroutine, read by the ticker)
	ticking atomic.Bool
}

// workstationsSection builds the Workstations tab for s.
func (u *UI) workstationsSection(s *app.Session) fyne.CanvasObject {
	v := &workstationsView{tabView: tabView{u: u, s: s}, admin: s.Allowed(app.ActSyncInvite)}
	heading := widget.NewLabelWithStyle("Workstations", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	heading.SizeName = theme.SizeNameSubHeadingText
	v.invite = widget.NewButtonWithIcon("Invite a workstation", theme.ContentAddIcon(), v.inviteWorkstation)
	v.invite.Importance = widget.HighImportance
	if !v.admin {
		v.invite.Hide()
	}
	v.message = widget.NewLabel("")
	v.message.Wrapping = fyne.TextWrapWord
	v.message.Hide()
	v.body = container.NewVBox(widget.NewLabel("Reading the replica's status…"))
	top := container.NewVBox(container.NewBorder(nil, nil, heading, v.invite), v.message)
	v.root = container.NewBorder(top, nil, nil, nil, container.NewVScroll(container.NewPadded(v.body)))
	v.shown = func() {
		v.sh = u.current()
		v.visible.Store(true)
		v.load(false)
		v.startTicker()
	}
	v.ExtendBaseWidget(v)
	return v
}

// Hide is called when another tab is chosen: the ticker stops at its next
// tick.
func (v *workstationsView) Hide() {
	v.visible.Store(false)
	v.tabView.Hide()
}

// live tells whether the tab is on screen in the shell in front (any
// goroutine).
func (v *workstationsView) live() bool {
	return v.visible.Load() && v.sh != nil && v.u.current() == v.sh
}

// startTicker reads the overview again every workstationsRefresh while the
// tab is live.
func (v *workstationsView) startTicker() {
	if !v.ticking.CompareAndSwap(false, true) {
		return
	}
	ctx := v.u.ctx
	go func() {
		defer v.ticking.Store(false)
		t := time.NewTicker(workstationsRefresh)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if !v.live() {
				return
			}
			ov, err := v.s.SyncOverview(ctx, true)
			if errors.Is(err, app.ErrLocked) || errors.Is(err, app.ErrSignedOut) || ctx.Err() != nil {
				return // the lock screen is on its way
			}
			v.u.doneMu.Lock() // one result shown at a time, as u.work does
			fyne.DoAndWait(func() {
				if v.live() && !v.busy {
					v.show(ov, err)
				}
			})
			v.u.doneMu.Unlock()
		}
	}()
}

// load reads the overview (audited unless refresh) and shows it.
func (v *workstationsView) load(refresh bool) {
	var ov app.SyncOverview
	v.u.work(func(ctx context.Context) error {
		var err error
		ov, err = v.s.SyncOverview(ctx, refresh)
		return err
	}, func(err error) { v.show(ov, err) })
}

// show draws ov, or says why it could not be read.
func (v *workstationsView) show(ov app.SyncOverview, err error) {
	if err != nil {
		showOutcome(v.message, sentence(err), true)
		return
	}
	parts, text := v.parts(ov)
	if text == v.drawn {
		return
	}
	v.drawn = text
	v.body.Objects = parts
	v.body.Refresh()
}

// act runs an action, says what it did (or why it failed) and reads again.
func (v *workstationsView) act(done string, fn func(ctx context.Context) error) {
	if v.busy {
		return
	}
	v.busy = true
	v.u.work(fn, func(err error) {
		v.busy = false
		if err != nil {
			showOutcome(v.message, sentence(err), true)
			return
		}
		showOutcome(v.message, done, false)
		v.load(true) // the action itself is audited
	})
}

// page collects the tab's rows and their text.
type page struct {
	objs []fyne.CanvasObject
	text strings.Builder
}

func (p *page) add(o fyne.CanvasObject, text ...string) {
	p.objs = append(p.objs, o)
	for _, t := range text {
		p.text.WriteString(t + "\n")
	}
}

func (p *page) heading(title string) {
	l := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.SizeName = theme.SizeNameSubHeadingText
	p.add(widget.NewSeparator())
	p.add(l, title)
}

func (p *page) title(t string) {
	p.add(widget.NewLabelWithStyle(t, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), t)
}

// fact is one "key: value" line; the value can be selected (ids are
// compared and copied).
func (p *page) fact(k, val string) {
	l := widget.NewLabel(val)
	l.Selectable = true
	l.Wrapping = fyne.TextWrapWord
	p.add(container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSize(170, 0),
		widget.NewLabelWithStyle(k, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})), nil, l), k, val)
}

func (p *page) note(t string, imp widget.Importance) {
	l := widget.NewLabel(t)
	l.Wrapping = fyne.TextWrapWord
	l.Importance = imp
	p.add(l, t)
}

func (p *page) buttons(bs ...*widget.Button) {
	box := container.NewHBox()
	for _, b := range bs {
		box.Add(b)
		p.text.WriteString(b.Text + "\n")
	}
	p.objs = append(p.objs, box)
}

// parts lays the overview out.
func (v *workstationsView) parts(ov app.SyncOverview) ([]fyne.CanvasObject, string) {
	p := &page{}
	st := ov.Status
	self := v.u.clinic.Node()
	transport := map[string]store.TransportPeer{} // by node id, backup peers by device id
	for _, r := range ov.Transport {
		if r.Backup {
			transport[r.DeviceID] = r
		} else {
			transport[r.NodeID] = r
		}
	}
	running := len(ov.Transport) > 0

	p.title("This workstation")
	p.fact("Name", self.Name)
	p.fact("Node id", self.ID)
	p.fact("Device id", ov.Device)
	p.fact("Signing key", audit.Fingerprint(self.PublicKey))
	lan := "off"
	if ov.LANDiscovery {
		lan = "on"
	}
	p.fact("Listens on", fmt.Sprintf("%s (new workstations join on the next port); finding workstations on the LAN: %s", ov.Listen, lan))
	if running {
		p.fact("Network", fmt.Sprintf("running, listening on %s (as seen at %s)", ov.Transport[0].Address, ov.Transport[0].UpdatedAt.Local().Format("15:04:05")))
	} else {
		p.fact("Network", "not running: the other workstations cannot reach this one until Ward (the window or ward serve) runs here")
	}
	sent := "nothing yet"
	if st.Export.Segment > 0 {
		sent = fmt.Sprintf("%d segments, the last made %s", st.Export.Segment, when(st.Export.Created))
	}
	if st.Unsent {
		sent += "; changes made here are waiting to be sent"
	}
	p.fact("Sent", sent)
	p.fact("Data folder", v.u.clinic.Dir())

	if len(ov.Requests) > 0 {
		p.heading("Waiting to join")
		for _, j := range ov.Requests {
			j := j
			p.title(fmt.Sprintf("%s asks to join (request %d)", j.Name, j.ID))
			p.fact("Node id", j.NodeID)
			p.fact("Device id", j.DeviceID)
			p.fact("Asked", fmt.Sprintf("%s from %s", when(j.RequestedAt), j.RemoteAddr))
			if v.admin {
				approve := widget.NewButtonWithIcon("Approve…", theme.ConfirmIcon(), func() { v.approve(j) })
				approve.Importance = widget.HighImportance
				p.buttons(approve, widget.NewButtonWithIcon("Decline…", theme.CancelIcon(), func() { v.decline(j) }))
			}
		}
	}

	p.heading("Other workstations")
	if len(st.Peers) == 0 {
		p.note("None yet. Invite a workstation so that it keeps a copy of the clinic's records and shares what is written on it.", widget.MediumImportance)
	}
	for _, ps := range st.Peers {
		ps := ps
		name := ps.Name
		if !ps.Known {
			name = "Unknown workstation"
		}
		if !ps.RevokedAt.IsZero() {
			name += " — removed " + when(ps.RevokedAt)
		}
		p.title(name)
		p.fact("Node id", ps.Node)
		if !ps.RevokedAt.IsZero() {
			p.note("Removed from the clinic: what it sends from now on is refused, and no workstation syncs with it.", widget.WarningImportance)
		} else if !ps.Known {
			p.note("Its folder is here, but it is not a workstation of this clinic here (not approved, or its approval has not arrived yet).", widget.WarningImportance)
		}
		p.fact("Last contact", lastContact(transport, ps.Node, running))
		applied := "nothing applied yet"
		if ps.Applied.Segment > 0 {
			applied = fmt.Sprintf("up to segment %d (made %s, applied %s)", ps.Applied.Segment, when(ps.Applied.Created), when(ps.Applied.AppliedAt))
		}
		p.fact("Applied here", applied)
		lag := "up to date"
		if ps.Waiting > 0 {
			lag = fmt.Sprintf("%d segments waiting, the oldest for %s", ps.Waiting, ps.Lag.Round(time.Second))
		}
		p.fact("Behind", lag)
		if ps.MissingSegment > 0 {
			p.note(fmt.Sprintf("Waiting for segment %d: later ones are here, it is not (still on its way, or lost).", ps.MissingSegment), widget.WarningImportance)
		}
		if ps.Quarantined > 0 {
			p.note(fmt.Sprintf("%d of its segments were refused (see Problems); its later segments wait behind them.", ps.Quarantined), widget.DangerImportance)
		}
		if v.admin && ps.Known && ps.RevokedAt.IsZero() {
			rm := widget.NewButtonWithIcon("Remove workstation…", theme.DeleteIcon(), func() { v.remove(ps.Node, ps.Name) })
			rm.Importance = widget.DangerImportance
			p.buttons(rm)
		}
	}

	p.heading("Problems")
	if len(st.Quarantined) == 0 {
		p.note("None: every segment that arrived was applied.", widget.MediumImportance)
	}
	names := map[string]string{}
	for _, ps := range st.Peers {
		names[ps.Node] = ps.Name
	}
	for _, q := range st.Quarantined {
		q := q
		who := names[q.Origin]
		if who == "" {
			who = "node " + q.Origin
		}
		p.title(fmt.Sprintf("Segment %d of %s was refused %s: %s", q.Segment, who, when(q.At), refusalKind(q.Kind)))
		p.note(capital(strings.TrimSuffix(q.Reason, "."))+".", widget.DangerImportance)
		if v.admin {
			p.buttons(widget.NewButtonWithIcon("Retry…", theme.ViewRefreshIcon(), func() { v.retry(q, who) }))
		}
	}

	p.heading("Encrypted off-site copies")
	p.note("A device the clinic does not trust with patient data (a NAS running plain Syncthing) can keep an encrypted copy "+
		"of every workstation's changes: it never holds the key. See docs/replica.md, \"An encrypted off-site copy\".", widget.MediumImportance)
	for _, b := range ov.BackupPeers {
		b := b
		p.fact("Device id", b.DeviceID)
		addrs := "found on the LAN"
		if len(b.Addresses) > 0 {
			addrs = strings.Join(b.Addresses, ", ")
		}
		p.fact("Address", addrs)
		p.fact("Last contact", lastContact(transport, b.DeviceID, running))
		if v.admin {
			p.buttons(widget.NewButtonWithIcon("Stop sharing with it…", theme.DeleteIcon(), func() { v.removeBackupPeer(b.DeviceID) }))
		}
	}
	if v.admin {
		p.buttons(widget.NewButtonWithIcon("Add an off-site copy…", theme.ContentAddIcon(), v.addBackupPeer))
	}
	return p.objs, p.text.String()
}

// lastContact says when the running node last heard from the peer (key:
// its node id, or a backup peer's device id).
func lastContact(transport map[string]store.TransportPeer, key string, running bool) string {
	r, ok := transport[key]
	switch {
	case !running:
		return "not known: the replica node is not running here"
	case !ok:
		return "none: this workstation does not sync with it"
	case r.Connected:
		return "connected now, from " + r.Address
	case r.LastSeen.IsZero():
		return "not connected, not seen since Ward started here"
	}
	return "not connected, last seen " + when(r.LastSeen)
}

// refusalKind names a quarantine kind (docs/replica.md) in plain words.
func refusalKind(kind string) string {
	switch kind {
	case "bad-signature":
		return "not signed by the workstation it claims to come from"
	case "unknown-node":
		return "from a workstation not known here"
	case "revoked":
		return "from a removed workstation"
	case "gap":
		return "segments before it are missing"
	case "corrupt":
		return "damaged or unreadable"
	case "refused":
		return "it breaks a rule of the records"
	case "misfiled":
		return "in the wrong folder"
	}
	return kind
}

// inviteWorkstation makes a one-time invite code and shows it.
func (v *workstationsView) inviteWorkstation() {
	if v.busy {
		return
	}
	v.busy = true
	v.invite.Disable()
	var inv app.InviteCode
	v.u.work(func(ctx context.Context) error {
		var err error
		inv, err = v.s.Invite(ctx, nil)
		return err
	}, func(err error) {
		v.busy = false
		v.invite.Enable()
		if err != nil {
			showOutcome(v.message, sentence(err), true)
			return
		}
		showOutcome(v.message, "", false)
		v.u.showInvite(inv)
	})
}

// showInvite is the dialog with the invite code: large, selectable, with
// its expiry and what to do on the new workstation.
func (u *UI) showInvite(inv app.InviteCode) {
	code := widget.NewLabel(inv.Code)
	code.Selectable = true
	code.Wrapping = fyne.TextWrapBreak
	code.TextStyle = fyne.TextStyle{Monospace: true}
	code.SizeName = theme.SizeNameSubHeadingText
	steps := widget.NewLabel(fmt.Sprintf("Valid once, until %s (10 minutes).\n\n"+
		"On the new workstation, with Ward installed and no clinic on it yet:\n"+
		"  • open Ward and choose \"Join an existing clinic\", then type or paste this code; or\n"+
		"  • run: ward sync join CODE --data NEW-FOLDER\n\n"+
		"Keep Ward open here meanwhile: the new workstation reaches this one at %s. Its request then appears here under "+
		"\"Waiting to join\": compare the node id and device id it shows with those here before you approve it.",
		inv.Expires.Local().Format("15:04"), strings.Join(inv.Addresses, ", ")))
	steps.Wrapping = fyne.TextWrapWord
	content := container.NewVBox(widget.NewLabelWithStyle("Invite code", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), code, steps)
	d := dialog.NewCustomWithoutButtons("Invite a workstation", atLeastWide(640, content), u.win)
	var restore func()
	closeIt := func() { restore(); d.Hide() }
	copyIt := widget.NewButtonWithIcon("Copy code", theme.ContentCopyIcon(), func() {
		u.fa.Clipboard().SetContent(inv.Code)
	})
	done := widget.NewButtonWithIcon("Done", theme.ConfirmIcon(), closeIt)
	done.Importance = widget.HighImportance
	d.SetButtons([]fyne.CanvasObject{copyIt, done})
	d.Show()
	restore = u.dialogKeys(closeIt, closeIt)
}

// approve asks, naming what the new workstation shows, then admits it.
func (v *workstationsView) approve(j store.JoinRow) {
	v.u.confirmAction("Approve this workstation?", fmt.Sprintf("Compare with what the new workstation shows:\n\n"+
		"  Name: %s\n  Node id: %s\n  Device id: %s\n\n"+
		"Approve only if they match. It then becomes a workstation of this clinic: it receives the clinic's key and a "+
		"copy of every record, and people can sign in on it with their accounts.", j.Name, j.NodeID, j.DeviceID),
		"Approve workstation", func() {
			v.act(fmt.Sprintf("%s is approved: the clinic's key and records are on their way to it, sealed to it. "+
				"It shows under Other workstations once it has joined.", j.Name),
				func(ctx context.Context) error { _, err := v.s.ApproveJoin(ctx, j.ID); return err })
		})
}

// decline turns a waiting workstation away, with a reason.
func (v *workstationsView) decline(j store.JoinRow) {
	reason := newChartField("reason", "Why (the new workstation is told)", newKeyEntry("for example: not one of ours"))
	v.u.showChartForm(fmt.Sprintf("Decline %s?", j.Name), "Decline", 480, []*chartField{reason},
		func(ctx context.Context, vals map[string]string) error {
			return v.s.DeclineJoin(ctx, j.ID, vals["reason"])
		},
		func() {
			showOutcome(v.message, fmt.Sprintf("The request of %s was declined.", j.Name), false)
			v.load(true)
		})
}

// remove asks, saying what removal means, then revokes the workstation.
func (v *workstationsView) remove(node, name string) {
	v.u.confirmAction("Remove this workstation?", fmt.Sprintf("%s (node %s) stops being a workstation of this clinic. "+
		"What it sends from now on is refused on every workstation this removal reaches, and they stop syncing with it. "+
		"What it sent before stays. Do this for a lost or stolen workstation, or one taken out of use.\n\n"+
		"This cannot be undone: to use that computer again, empty its data folder and invite it as a new workstation.", name, node),
		"Remove workstation", func() {
			v.act(name+" was removed from the clinic.", func(ctx context.Context) error {
				_, err := v.s.RemoveNode(ctx, node)
				return err
			})
		})
}

// retry sends a refused segment back to be applied, once its cause is fixed.
func (v *workstationsView) retry(q store.Quarantined, who string) {
	v.u.confirmAction("Try this segment again?", fmt.Sprintf("Segment %d of %s goes back to be applied. Do this once the cause "+
		"is fixed (for example, the workstation it comes from has been approved here). If the cause remains, it is refused again.",
		q.Segment, who), "Try again", func() {
		v.act(fmt.Sprintf("Segment %d of %s goes back to be applied.", q.Segment, who),
			func(ctx context.Context) error { return v.s.RetryQuarantined(ctx, q.ID) })
	})
}

// addBackupPeer shares this workstation's folders, encrypted, with a device.
func (v *workstationsView) addBackupPeer() {
	dev := newChartField("device", "Its device id (in its Syncthing: Actions → Show ID)", newKeyEntry("XXXXXXX-XXXXXXX-…"))
	addr := newChartField("address", "Its address (empty: found on the LAN)", newKeyEntry("tcp://nas.local:22000"))
	var self string
	v.u.showChartForm("Add an off-site copy", "Share encrypted", 560, []*chartField{dev, addr},
		func(ctx context.Context, vals map[string]string) error {
			var addrs []string
			if vals["address"] != "" {
				addrs = strings.Split(vals["address"], ",")
			}
			var err error
			self, err = v.s.AddBackupPeer(ctx, vals["device"], addrs)
			return err
		}, func() {
			showOutcome(v.message, fmt.Sprintf("This workstation's folders now go to that device encrypted. On that device, add this "+
				"workstation (device %s) and accept its folders.", self), false)
			v.load(true)
		})
}

// removeBackupPeer stops sharing with an off-site copy.
func (v *workstationsView) removeBackupPeer(dev string) {
	v.u.confirmAction("Stop sharing with this device?", fmt.Sprintf("Device %s gets nothing new from this workstation. "+
		"What it holds stays there, encrypted.", dev), "Stop sharing", func() {
		v.act("That device gets nothing new from this workstation.", func(ctx context.Context) error {
			return v.s.RemoveBackupPeer(ctx, dev)
		})
	})
}
