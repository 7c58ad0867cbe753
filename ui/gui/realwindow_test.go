package gui

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"ward/app"
	"ward/store"
)

// Tests of the real window: Ward's own Run in a child process (this test
// binary, re-executed), on a private Xvfb server, driven with xdotool the
// way a person at the keyboard and mouse would drive it.

// The child process's modes: realWindowEnv names the data folder it opens
// with Run; firstFrameEnv makes it say when the first frame is on screen;
// emptyWindowEnv makes it an empty Fyne window instead (the baseline of the
// GUI benchmarks).
const (
	realWindowEnv  = "WARD_TEST_REAL_WINDOW"
	firstFrameEnv  = "WARD_TEST_FIRST_FRAME"
	emptyWindowEnv = "WARD_TEST_EMPTY_WINDOW"
)

// TestMain lets this test binary be the real Ward window of a test (Fyne's
// event loop must own the main goroutine, which a test function is not).
func TestMain(m *testing.M) {
	if os.Getenv(emptyWindowEnv) != "" {
		fa := fyneapp.New()
		w := fa.NewWindow("Empty")
		w.Resize(fyne.NewSize(1100, 720))
		w.ShowAndRun()
		os.Exit(0)
	}
	if dir := os.Getenv(realWindowEnv); dir != "" {
		if os.Getenv(firstFrameEnv) != "" {
			go reportFirstFrame(fyne.CurrentApp())
		}
		if err := Run(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// firstFrameMark is what the child prints once its first frame is shown.
const firstFrameMark = "ward: first frame"

// reportFirstFrame prints firstFrameMark once the window's first frame is
// on screen. Fyne paints the first frame when the window is shown, before
// its event loop runs the first queued function; this queues one as soon
// as Run has made the app (it replaces testApp, the one package test
// starts with).
func reportFirstFrame(testApp fyne.App) {
	for fyne.CurrentApp() == testApp {
		time.Sleep(time.Millisecond)
	}
	fyne.Do(func() { fmt.Println(firstFrameMark) })
}

// capture is what the X server shows of the window (imagemagick's import:
// Fyne's own Capture reads the GL front buffer, black under Xvfb).
func (w *realWindow) capture() image.Image {
	w.t.Helper()
	cmd := exec.Command("import", "-window", w.id, "png:-")
	cmd.Env = append(os.Environ(), "DISPLAY="+w.display)
	out, err := cmd.Output()
	if err != nil {
		w.t.Fatalf("import: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		w.t.Fatal(err)
	}
	return img
}

// blank tells whether img is one colour.
func blank(img image.Image) bool {
	b := img.Bounds()
	first := img.At(b.Min.X, b.Min.Y)
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			if img.At(x, y) != first {
				return false
			}
		}
	}
	return true
}

// needX skips the test when Xvfb or xdotool are missing.
func needX(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"Xvfb", "xdotool", "import"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed, so the real window cannot be driven: `make deps-test` (run by `make test`) installs xvfb, xdotool and imagemagick", bin)
		}
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Fatal("no D-Bus session bus: run the tests with `make test` (it starts a private keyring)")
	}
}

// startXvfb starts a private X server on a free display and returns its
// name (":N"); it is stopped when the test ends. A server that took a
// display but does not answer on it (seen when servers start side by side)
// is replaced, up to three times.
func startXvfb(t testing.TB) string {
	t.Helper()
	// One server starts at a time: two Xvfb picking a display number at the
	// same moment (-displayfd) were seen to hand a test a display that then
	// refused its window ("PlatformUnavailable"), once in a full run.
	xvfbStarting.Lock()
	defer xvfbStarting.Unlock()
	var why string
	for range 3 {
		display, stop, err := tryXvfb()
		if err == nil {
			t.Cleanup(stop)
			return display
		}
		why = err.Error()
	}
	t.Fatalf("no private X server: %s", why)
	return ""
}

var xvfbStarting sync.Mutex

// tryXvfb starts Xvfb, learns its display (-displayfd) and waits until it
// answers there.
func tryXvfb() (display string, stop func(), err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	errOut := &lockedBuffer{}
	cmd.Stderr = errOut
	err = cmd.Start()
	w.Close()
	if err != nil {
		return "", nil, fmt.Errorf("Xvfb: %v", err)
	}
	stop = func() {
		// TERM lets Xvfb remove its lock file and socket; KILL if it hangs.
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		display = ":" + n
	case <-time.After(10 * time.Second):
	}
	if display == ":" || display == "" {
		stop()
		return "", nil, fmt.Errorf("Xvfb did not say which display it took: %s", errOut.String())
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ping := exec.Command("xdotool", "getdisplaygeometry")
		ping.Env = append(os.Environ(), "DISPLAY="+display)
		if ping.Run() == nil {
			return display, stop, nil
		}
	}
	stop()
	return "", nil, fmt.Errorf("Xvfb took display %s but does not answer there: %s", display, errOut.String())
}

// realDemoClinic makes a demo clinic in a temp folder for a child process
// (closed again here: the child opens it), with settings set and synthetic
// patients imported by the demo administrator first. Its key leaves the
// keyring when the test ends.
func realDemoClinic(t testing.TB, settings map[string]string, patients int) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	c, _, err := app.InitDemo(ctx, dir, store.OSKeyring{})
	if err != nil {
		t.Fatalf("demo clinic: %v", err)
	}
	t.Cleanup(func() {
		acct, _ := store.KeyringAccount(dir)
		store.OSKeyring{}.Delete(acct)
	})
	defer c.Close()
	s, err := c.SignIn(ctx, app.DemoUsers[0].Username, app.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer s.SignOut(ctx)
	for k, v := range settings {
		if err := s.SetSetting(ctx, k, v); err != nil {
			t.Fatalf("setting %s=%s: %v", k, v, err)
		}
	}
	if patients > 0 {
		if err := s.ImportPatients(ctx, app.SyntheticPatients(patients, 1, 10_000_000), nil); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// realWindow is Ward's window in a child process on an X display.
type realWindow struct {
	t       testing.TB
	display string
	id      string // X window id
	cmd     *exec.Cmd
	out     *lockedBuffer
	started time.Time
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// openRealWindow runs Ward on dir on display and waits for its window.
func openRealWindow(t testing.TB, display, dir string, env ...string) *realWindow {
	t.Helper()
	w := startChild(t, display, append([]string{realWindowEnv + "=" + dir}, env...)...)
	w.waitWindow("Ward$")
	return w
}

// startChild runs this test binary as a window (env sets its mode) on
// display; it is ended when the test ends.
func startChild(t testing.TB, display string, env ...string) *realWindow {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	w := &realWindow{t: t, display: display, out: &lockedBuffer{}}
	w.cmd = exec.Command(exe, "-test.run=^$")
	w.cmd.Env = append(os.Environ(), "DISPLAY="+display, "LANG=en_US.UTF-8")
	w.cmd.Env = append(w.cmd.Env, env...)
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
	w.started = time.Now()
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.close)
	return w
}

// waitWindow waits up to 20 s for a visible window whose title matches
// the regular expression name.
func (w *realWindow) waitWindow(name string) {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if ids, err := w.xdo("search", "--onlyvisible", "--name", name); err == nil && ids != "" {
			w.id = strings.Fields(ids)[0]
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("no window %q on %s after 20 s; the child said:\n%s", name, w.display, w.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// close ends the child (its audit entries are committed as they happen).
func (w *realWindow) close() {
	if w.cmd.ProcessState == nil {
		w.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { w.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			w.cmd.Process.Kill()
			<-done
		}
	}
}

// xdo runs xdotool on the window's display.
func (w *realWindow) xdo(args ...string) (string, error) {
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+w.display)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("xdotool %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// must is xdo that fails the test on error.
func (w *realWindow) must(args ...string) string {
	w.t.Helper()
	out, err := w.xdo(args...)
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// title is the window's title as the X server has it.
func (w *realWindow) title() string {
	w.t.Helper()
	return w.must("getwindowname", w.id)
}

// waitTitle waits until ok(title) or the timeout; it returns the last title
// and whether ok held.
func (w *realWindow) waitTitle(timeout time.Duration, ok func(string) bool) (string, bool) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := w.title()
		if ok(got) {
			return got, true
		}
		if time.Now().After(deadline) {
			return got, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// signIn types username and the demo password as a person would and waits
// until the title names the person.
func (w *realWindow) signIn(username, person string) {
	w.t.Helper()
	w.must("windowfocus", "--sync", w.id)
	w.must("type", "--delay", "15", username)
	w.must("key", "Return")
	w.must("type", "--delay", "15", app.DemoPassword)
	w.must("key", "Return")
	if got, ok := w.waitTitle(15*time.Second, func(s string) bool { return strings.Contains(s, person) }); !ok {
		w.t.Fatalf("after signing in as %s the title is %q; Ward said:\n%s", username, got, w.out.String())
	}
}

// auditOf is auditActions of the clinic in dir (the child has closed it).
func auditOf(t *testing.T, dir string) string {
	t.Helper()
	c, err := app.Open(context.Background(), dir, store.OSKeyring{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return auditActions(t, c)
}
