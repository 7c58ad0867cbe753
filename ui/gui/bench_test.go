package gui

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// GUI targets, measured on the real window under Xvfb (Mesa llvmpipe):
// cold start to the sign-in screen; idle memory of Ward with a 100k-patient
// clinic open against an empty Fyne window started the same way in the same
// run; idle CPU with no text field focused.

// coldStarts is how many starts BenchmarkGUIColdStart times.
const coldStarts = 5

// BenchmarkGUIColdStart: from starting the process to the first frame of
// the sign-in screen on screen. Reports the median ("s") and the slowest.
func BenchmarkGUIColdStart(b *testing.B) {
	needX(b)
	display := startXvfb(b)
	dir := realDemoClinic(b, nil, 0)
	var took []time.Duration
	for range b.N {
		for range coldStarts {
			w := startChild(b, display, realWindowEnv+"="+dir, firstFrameEnv+"=1")
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(w.out.String(), firstFrameMark) {
				if time.Now().After(deadline) {
					b.Fatalf("no first frame; Ward said:\n%s", w.out.String())
				}
				time.Sleep(time.Millisecond)
			}
			took = append(took, time.Since(w.started))
			if len(took) == 1 { // what that frame shows: the sign-in screen, not a blank window
				w.waitWindow("Ward$")
				if blank(w.capture()) {
					b.Fatal("the first frame is blank")
				}
			}
			w.close()
		}
	}
	slices.Sort(took)
	b.ReportMetric(took[len(took)/2].Seconds(), "s")
	b.ReportMetric(took[len(took)-1].Seconds(), "max-s")
}

// idleSettle is how long a window is left alone before it is measured:
// past releaseAfter (idle.go), when Ward gives memory back once, so what is
// measured is the idle that lasts, not that one-off collection. idleSample
// is how long its CPU time is counted.
const (
	idleSettle = releaseAfter + 5*time.Second
	idleSample = 20 * time.Second
)

// BenchmarkGUIIdle: an empty Fyne window, then Ward with a 100k-patient
// demo clinic and the front desk signed in (the Patients tab, nothing
// focused), each left alone and measured: resident memory ("empty-MB",
// "rss-MB", and Ward's excess "extra-MB") and CPU in percent of one core
// ("empty-cpu-%", "cpu-%").
func BenchmarkGUIIdle(b *testing.B) {
	needX(b)
	display := startXvfb(b)
	dir := realDemoClinic(b, nil, 100_000)
	for range b.N {
		empty := startChild(b, display, emptyWindowEnv+"=1")
		empty.waitWindow("^Empty$")
		emptyRSS, emptyCPU := idleFigures(b, empty)
		empty.close()

		w := openRealWindow(b, display, dir)
		w.signIn("frontdesk", "Frank Desk")
		// The title changes before the Patients tab has put the cursor in its
		// search box (a frame or more later): a click before that would leave
		// the box focused, its cursor blinking, and measure that instead.
		time.Sleep(3 * time.Second)
		w.must("mousemove", "--window", w.id, "40", "18") // the clinic's name in the header:
		w.must("click", "1")                              // a click there takes the focus from the search field
		w.must("mousemove", "1200", "780")                // and the pointer leaves the window
		rss, cpu := idleFigures(b, w)
		w.close()

		b.ReportMetric(emptyRSS, "empty-MB")
		b.ReportMetric(rss, "rss-MB")
		b.ReportMetric(rss-emptyRSS, "extra-MB")
		b.ReportMetric(emptyCPU, "empty-cpu-%")
		b.ReportMetric(cpu, "cpu-%")
	}
}

// idleFigures leaves w alone for idleSettle, then returns its resident
// memory in MB and its CPU use over idleSample in percent of one core.
func idleFigures(b *testing.B, w *realWindow) (rssMB, cpuPercent float64) {
	b.Helper()
	time.Sleep(idleSettle)
	pid := w.cmd.Process.Pid
	t0, c0 := time.Now(), cpuTicks(b, pid)
	time.Sleep(idleSample)
	t1, c1 := time.Now(), cpuTicks(b, pid)
	cpuPercent = float64(c1-c0) / clockTicks / t1.Sub(t0).Seconds() * 100
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			rssMB = kb / 1024
		}
	}
	return rssMB, cpuPercent
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times (100 on
// every Linux architecture Ward runs on).
const clockTicks = 100

// cpuTicks is the user + system CPU time of pid so far, in clock ticks.
func cpuTicks(b *testing.B, pid int) int64 {
	b.Helper()
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name (in parentheses, which may hold
	// spaces): state is field 3, utime 14, stime 15.
	rest := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	utime, _ := strconv.ParseInt(rest[11], 10, 64)
	stime, _ := strconv.ParseInt(rest[12], 10, 64)
	return utime + stime
}
