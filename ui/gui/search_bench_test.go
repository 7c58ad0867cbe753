package gui

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"ward/app"
)

// typedAtTheDesk are searches as the front desk types them, one key at a
// time: family and given names and their starts, a name and an initial,
// a phone number, a birth date, an MRN (the demo's run from 10000000).
var typedAtTheDesk = []string{
	"kowalski", "nakamura h", "grace ber", "fatima", "o'brien", "zhang a", "555-42", "1984-03", "10004711",
	"ines garc", "tariq", "hiro tan", "amir", "sven e", "leila rahman", "1961-04-02", "okafor", "mateo cas",
	"priya", "whitfield", "555-907-1", "colm murphy", "10099", "xu", "dmitri iv",
}

// BenchmarkSearchAsYouType: a 100k-patient demo clinic, the front desk's
// Patients tab, and the searches above typed one key at a time into its
// search box. Each keystroke is timed from the key (test.Type) to its
// results put on screen (patientSearch.painted): the audited search, the
// list refreshed. Reports the median, the 99th percentile and the slowest
// keystroke in ms (target: < 100 ms).
func BenchmarkSearchAsYouType(b *testing.B) {
	n := 100_000
	if testing.Short() {
		n = 5_000
	}
	c := testClinic(b)
	if err := sessionOf(b, c, "admin").ImportPatients(context.Background(), app.SyntheticPatients(n, 1, 10_000_000), nil); err != nil {
		b.Fatal(err)
	}

	u := newTestUI(b, c)
	ps := patientsTab(b, signInAs(b, u, "frontdesk")).search
	painted := make(chan string, 1)
	ps.painted = func(q string) { painted <- q }
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		for _, q := range typedAtTheDesk {
			if ps.entry.Text != "" {
				ps.entry.SetText("")
				<-painted
			}
			for i, r := range q {
				start := time.Now()
				test.Type(ps.entry, string(r))
				if got := <-painted; got != strings.TrimSpace(q[:i+len(string(r))]) {
					b.Fatalf("painted the results of %q while %q was typed", got, ps.entry.Text)
				}
				lat = append(lat, time.Since(start))
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
	b.ReportMetric(ms(1), "max-ms")
	b.ReportMetric(float64(len(lat))/float64(b.N), "keys/op")
}
