package app

import (
	"context"
	"testing"
	"time"

	"ward/store"
)

// A patient's card lists their appointments from today on, earliest first,
// with the clinician's name; yesterday's are history, not upcoming. One
// audit entry, on the patient, with the count.
func TestUpcomingAppointments(t *testing.T) {
	ctx := context.Background()
	r := newRecordsClinic(t)
	p := r.patient
	tomorrow := startOfDay(time.Now()).AddDate(0, 0, 1).Add(9 * time.Hour)
	later := tomorrow.AddDate(0, 0, 2)
	for _, n := range []NewAppointment{
		{PatientID: p.ID, Clinician: "doc2", At: later, Reason: "follow-up visit"},
		{PatientID: p.ID, Clinician: "doc", At: tomorrow},
		{PatientID: r.other.ID, Clinician: "doc", At: tomorrow},
	} {
		if _, err := r.fd.BookAppointment(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	names := func(vs []store.ScheduledVisit) (s []string) {
		for _, v := range vs {
			s = append(s, v.StartsAt.Format("01-02 15:04")+" "+v.ClinicianName+" "+v.PatientName)
		}
		return s
	}
	vs, err := r.fd.UpcomingAppointments(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{tomorrow.Format("01-02 15:04") + " Dr. Clara Lin Grace Hopper", later.Format("01-02 15:04") + " Dr. Bob Okafor Grace Hopper"}
	if got := names(vs); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("upcoming = %q, want %q", got, want)
	}
	e := lastEntry(t, r.c)
	if e.Action != string(ActAppointmentRead) || e.Patient != p.ID || e.User != r.fd.User().ID || e.Detail != "upcoming appointments: 2" {
		t.Fatalf("audit entry: %+v", e)
	}

	// Two days on, tomorrow's visit is past.
	r.c.SetClock(&fakeClock{t: time.Now().AddDate(0, 0, 2)})
	fd := signIn(t, r.c, "fd", "front desk pass")
	if vs, err = fd.UpcomingAppointments(ctx, p.ID); err != nil || len(vs) != 1 || !vs[0].StartsAt.Equal(later) {
		t.Fatalf("two days on: %q, %v", names(vs), err)
	}

	// Security officers do not read schedules.
	if _, err := r.root.UpcomingAppointments(ctx, p.ID); err == nil {
		t.Fatal("an administrator read a patient's appointments")
	}
}
