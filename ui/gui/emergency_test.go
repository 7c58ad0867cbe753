package gui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"ward/app"
	"ward/emergency"
)

// Break-glass as a clinician does it: the refused restricted chart offers
// "Emergency access…"; without a reason the dialog says so beside the
// field; with one the chart opens under a red banner with the time left,
// every read carries the grant; "End emergency access" closes the chart.
func TestChartBreakGlass(t *testing.T) {
	c := testClinic(t)
	addClinician(t, c, "drsmith", "Dr. Ann Smith")
	p := restrictedPatient(t, c, "Nadia Petrov", "2001-06-09", "drsmith")

	u := newTestUI(t, c)
	sh := signInAs(t, u, "clinician")
	cv := chartTab(t, sh)
	u.openChart(p.ID)
	u.settle()
	if cv.root.Objects[0] != cv.refusedBox || !cv.breakGlass.Visible() {
		t.Fatalf("restricted chart without the emergency access button: %q", visibleText(u))
	}

	tap(u, cv.breakGlass)
	dlg := topOverlay(t, u)
	if !strings.Contains(textOf(dlg), "a security officer reviews every emergency access") {
		t.Errorf("the dialog does not say what break-glass means: %s", textOf(dlg))
	}
	tap(u, buttonIn(t, dlg, "Open the chart"))
	if got := fieldMessage(t, dlg, "Why do you need this chart?"); !strings.Contains(got, "Choose why you need emergency access") {
		t.Fatalf("no reason: message %q", got)
	}
	radiosIn(dlg)[0].SetSelected(emergency.ReasonLabel(emergency.ReasonOther))
	tap(u, buttonIn(t, dlg, "Open the chart"))
	if got := fieldMessage(t, dlg, "Why do you need this chart?"); !strings.Contains(got, "write in a few words") {
		t.Fatalf("other without words: message %q", got)
	}
	radiosIn(dlg)[0].SetSelected(emergency.ReasonLabel(emergency.ReasonTreatment))
	tap(u, buttonIn(t, dlg, "Open the chart"))
	u.settle()
	if cv.chart.Patient.ID != p.ID {
		t.Fatalf("the chart did not open under the grant: %q", visibleText(u))
	}
	if !cv.grantBanner.box.Visible() || !strings.Contains(cv.grantBanner.text.Text, "EMERGENCY ACCESS — 60 min left — Emergency treatment") {
		t.Fatalf("banner: visible %v, %q", cv.grantBanner.box.Visible(), cv.grantBanner.text.Text)
	}
	got := auditActions(t, c)
	if !strings.Contains(got, " emergency.start success emergency access started; reason emergency-treatment") ||
		!strings.Contains(got, " chart.read success ") {
		t.Errorf("audit: %s", got)
	}
	if _, ok := sh.s.RunningGrant(p.ID); !ok {
		t.Fatal("no running grant")
	}

	// The holder ends it: confirm, the chart closes, the button is back.
	tap(u, cv.grantBanner.end)
	tap(u, buttonIn(t, topOverlay(t, u), "End access"))
	u.settle()
	if cv.chart.Patient.ID != "" || cv.root.Objects[0] != cv.refusedBox || !strings.Contains(cv.refused.Text, "You ended your emergency access") {
		t.Fatalf("after ending: %q", visibleText(u))
	}
	if strings.Contains(visibleText(u), "Nadia") {
		t.Error("the chart's patient still shows after the grant ended")
	}
	if _, ok := sh.s.RunningGrant(p.ID); ok {
		t.Error("the grant still runs")
	}
	if !strings.Contains(auditActions(t, c), " emergency.end success emergency access ended early by its holder ") {
		t.Error("the end is not audited")
	}
}

// The security officer's review: the tab's title counts the grants waiting
// from sign-in on; a review needs a disposition and a note, then the grant
// leaves the queue and the review is audited.
func TestEmergencyReviewQueue(t *testing.T) {
	c := testClinic(t)
	ctx := context.Background()
	p := restrictedPatient(t, c, "Ruth Okafor", "1950-02-02")
	doc, _ := c.SignIn(ctx, "clinician", app.DemoPassword)
	if _, err := doc.BreakGlass(ctx, p.ID, emergency.ReasonCovering, ""); err != nil {
		t.Fatal(err)
	}

	u := newTestUI(t, c)
	sh := signInAs(t, u, "security")
	u.settle()
	var title string
	for _, it := range sh.tabs.Items {
		if strings.HasPrefix(it.Text, reviewTitle) {
			title = it.Text
		}
	}
	if title != reviewTitle+" (1)" {
		t.Fatalf("officer's tab title %q, want the count of grants waiting", title)
	}
	v := selectTab[*reviewView](t, sh)
	u.settle()
	text := visibleText(u)
	if !strings.Contains(text, "1 waiting for review.") || !strings.Contains(text, "Ruth Okafor") ||
		!strings.Contains(text, "Covering for the patient's clinician") || !strings.Contains(text, "running, 60 min left") {
		t.Fatalf("queue shows: %s", text)
	}
	tap(u, rowButton(t, v.rows, "Ruth Okafor", "Review…"))
	dlg := topOverlay(t, u)
	tap(u, buttonIn(t, dlg, "Save review"))
	if got := fieldMessage(t, dlg, "Was it appropriate?"); !strings.Contains(got, "appropriate or not-appropriate") {
		t.Fatalf("no disposition: %q", got)
	}
	radiosIn(dlg)[0].SetSelected("Not appropriate")
	tap(u, buttonIn(t, dlg, "Save review"))
	if got := fieldMessage(t, dlg, "Note"); !strings.Contains(got, "Write a note") {
		t.Fatalf("no note: %q", got)
	}
	test.Type(entriesIn(dlg)[0], "Patient was not seen that day; raised with the clinician")
	tap(u, buttonIn(t, dlg, "Save review"))
	u.settle()
	if !strings.Contains(visibleText(u), "No emergency access waits for review.") {
		t.Fatalf("after the review: %s", visibleText(u))
	}
	for _, it := range sh.tabs.Items {
		if strings.HasPrefix(it.Text, reviewTitle) && it.Text != reviewTitle {
			t.Errorf("tab title still counts: %q", it.Text)
		}
	}
	if got := auditActions(t, c); !strings.Contains(got, " emergency.review success emergency access reviewed: not-appropriate ") {
		t.Errorf("review not audited: %s", got)
	}
	v.all.SetChecked(true)
	u.settle()
	if !strings.Contains(visibleText(u), "not appropriate — Patient was not seen that day") {
		t.Errorf("reviewed grant: %s", visibleText(u))
	}
}

// A role the clinic lets use emergency access without opening charts (the
// front desk here) gets the Chart tab only for that: a chart opens by
// break-glass, to read, with no control that writes.
func TestFrontDeskBreakGlassReadsOnly(t *testing.T) {
	c := testClinic(t)
	ctx := context.Background()
	admin, err := c.SignIn(ctx, "admin", app.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	desk, _ := c.SignIn(ctx, "frontdesk", app.DemoPassword)
	p := registerPatient(t, desk, "Imre Kovacs", "1944-09-09")
	doc, _ := c.SignIn(ctx, "clinician", app.DemoPassword)
	if _, err := doc.AddAllergy(ctx, app.NewAllergy{PatientID: p.ID, Substance: "aspirin"}); err != nil {
		t.Fatal(err)
	}

	u := newTestUI(t, c)
	sh := signInAs(t, u, "frontdesk")
	for _, it := range sh.tabs.Items {
		if it.Text == chartTitle {
			t.Fatal("the front desk has a Chart tab before the clinic allows it emergency access")
		}
	}
	tap(u, sh.signOut)
	if err := admin.SetSetting(ctx, app.SettingEmergencyRoles, "clinician,frontdesk"); err != nil {
		t.Fatal(err)
	}
	sh = signInAs(t, u, "frontdesk")
	cv := chartTab(t, sh)
	u.openChart(p.ID)
	u.settle()
	if cv.root.Objects[0] != cv.refusedBox || !cv.breakGlass.Visible() {
		t.Fatalf("front desk opening a chart: %q", visibleText(u))
	}
	tap(u, cv.breakGlass)
	dlg := topOverlay(t, u)
	radiosIn(dlg)[0].SetSelected(emergency.ReasonLabel(emergency.ReasonOther))
	test.Type(entriesIn(dlg)[0], "ambulance crew asks for allergies")
	tap(u, buttonIn(t, dlg, "Open the chart"))
	u.settle()
	if cv.chart.Patient.ID != p.ID || !strings.Contains(cv.allergies.Text, "aspirin") {
		t.Fatalf("the chart under the grant: %q", visibleText(u))
	}
	if cv.allergyList.add.Visible() || cv.problems.add.Visible() || cv.medications.add.Visible() {
		t.Error("the front desk is offered to write the chart")
	}
	if got := auditActions(t, c); !strings.Contains(got, " emergency.start success emergency access started; reason other") {
		t.Errorf("audit: %s", got)
	}
}
