// Package pdftest reads PDFs back with poppler's tools (pdfinfo,
// pdftotext) for tests: an independent reader, so a test sees what a
// person's PDF viewer would. make deps-test installs poppler-utils.
package pdftest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// Info is what pdfinfo says of a document.
type Info struct {
	Pages    int
	PageSize string // e.g. "595.28 x 841.89 pts (A4)"
	Title    string
}

// Read checks doc with pdfinfo and returns its info and its text
// (pdftotext, pages separated by form feeds). Any complaint of either tool
// on standard error fails the test: a damaged file is often still read,
// with a warning.
func Read(t testing.TB, doc []byte) (Info, string) {
	t.Helper()
	for _, tool := range []string{"pdfinfo", "pdftotext"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: install poppler-utils (make deps-test)", tool)
		}
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	info := Info{}
	out := run(t, "pdfinfo", path)
	if m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`).FindSubmatch(out); m != nil {
		info.Pages, _ = strconv.Atoi(string(m[1]))
	}
	if m := regexp.MustCompile(`(?m)^Page size:\s+(.+)$`).FindSubmatch(out); m != nil {
		info.PageSize = string(m[1])
	}
	if m := regexp.MustCompile(`(?m)^Title:\s+(.+)$`).FindSubmatch(out); m != nil {
		info.Title = string(m[1])
	}
	return info, string(run(t, "pdftotext", "-enc", "UTF-8", path, "-"))
}

func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("%s: %v: %s", name, err, stderr.String())
	}
	return stdout.Bytes()
}
