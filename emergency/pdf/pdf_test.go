package pdf

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"ward/emergency/pdf/pdftest"
)

func TestTextWidthUsesHelveticaMetrics(t *testing.T) {
	// Helvetica AFM: H 722, e 556, l 222, o 556; Helvetica-Bold: H 722, e 556, l 278, o 611.
	for _, c := range []struct {
		f    Font
		want float64
	}{{Helvetica, 22.78}, {HelveticaBold, 24.45}} {
		if got := TextWidth(c.f, 10, "Hello"); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s width of Hello at 10 pt = %v, want %v", c.f.baseName(), got, c.want)
		}
	}
	if TextWidth(Helvetica, 12, "WWW") <= TextWidth(Helvetica, 12, "iii") {
		t.Error("W is not wider than i")
	}
}

func TestEncodeKeepsLatinAndMarksTheRest(t *testing.T) {
	for in, want := range map[string]string{
		"Müller José Peña": "M\xfcller Jos\xe9 Pe\xf1a",
		"Jose\u0301":       "Jos\xe9", // a combining accent is joined first
		"€ – “x”":          "\x80 \x96 \x93x\x94",
		"日本 Ωx\x01":        "?? ?x?", // not in WinAnsi, and a control character: visible, not dropped
		"a\tb":             "a b",
	} {
		if got := string(Encode(in)); got != want {
			t.Errorf("Encode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWrap(t *testing.T) {
	text := "Penicillin causes hives and swelling of the face; amoxicillin too. " +
		"Supercalifragilisticexpialidociousandevenlongerwordthatcannotfit ends it."
	const width = 120.0
	lines := Wrap(Helvetica, 11, width, text)
	if len(lines) < 4 {
		t.Fatalf("expected several lines, got %q", lines)
	}
	for _, l := range lines {
		if w := TextWidth(Helvetica, 11, l); w > width {
			t.Errorf("line %q is %.1f pt wide, more than %v", l, w, width)
		}
	}
	// Nothing lost or reordered: the words come back in order, the long
	// one only split.
	if got, want := strings.Join(lines, ""), strings.ReplaceAll(text, " ", ""); strings.ReplaceAll(got, " ", "") != want {
		t.Errorf("wrapped text changed:\n%q\n%q", got, want)
	}
	// Break at spaces while words fit: the first line is as full as it can be.
	first := strings.Fields(lines[0])
	next := strings.Fields(lines[1])[0]
	if TextWidth(Helvetica, 11, strings.Join(append(first, next), " ")) <= width {
		t.Errorf("line %q could have taken %q", lines[0], next)
	}

	if got := Wrap(HelveticaBold, 10, 500, "one\n\ntwo three"); len(got) != 3 || got[0] != "one" || got[1] != "" || got[2] != "two three" {
		t.Errorf("newlines: %q", got)
	}
	if got := Wrap(Helvetica, 10, 500, ""); len(got) != 1 || got[0] != "" {
		t.Errorf("empty text: %q", got)
	}
	if got := Wrap(Helvetica, 10, 1, "abc"); len(got) != 3 {
		t.Errorf("a width narrower than one letter still advances one letter a line: %q", got)
	}
}

// TestDocumentReadsBack writes a document over several pages and reads
// it with poppler: page count, size, text, accents, replacements, footer.
func TestDocumentReadsBack(t *testing.T) {
	d := New(A4, "Downtime — Müller", time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), "Ward test footer")
	d.Banner(14, Red, "CONFIDENTIAL banner text")
	d.Heading(16, "Heading for José Peña")
	d.Item(Helvetica, 11, "Allergy: Penicillin (hives)")
	for i := range 120 {
		d.Text(Helvetica, 11, fmt.Sprintf("Paragraph %d says a few words so the page fills up.", i))
	}
	d.Rule()
	d.Text(HelveticaBold, 11, "Last line with 日本 and ümlaut")
	b := d.Bytes()
	if d.Pages() < 3 {
		t.Fatalf("120 paragraphs fit on %d pages", d.Pages())
	}
	checkXref(t, b)

	info, text := pdftest.Read(t, b)
	if info.Pages != d.Pages() {
		t.Errorf("pdfinfo says %d pages, the writer made %d", info.Pages, d.Pages())
	}
	if !strings.Contains(info.PageSize, "(A4)") || info.Title != "Downtime — Müller" {
		t.Errorf("pdfinfo: %+v", info)
	}
	for _, want := range []string{"CONFIDENTIAL banner text", "Heading for José Peña", "Allergy: Penicillin (hives)",
		"Paragraph 0 says", "Paragraph 119 says", "Last line with ?? and ümlaut", "Ward test footer",
		"page 1 of " + strconv.Itoa(d.Pages()), fmt.Sprintf("page %d of %d", d.Pages(), d.Pages())} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext lacks %q", want)
		}
	}
	// Every paragraph once, in order, none cut at a page break.
	last := -1
	for _, m := range regexp.MustCompile(`Paragraph (\d+) says a few words so the page fills up\.`).FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(m[1])
		if n != last+1 {
			t.Fatalf("paragraph %d follows %d", n, last)
		}
		last = n
	}
	if last != 119 {
		t.Errorf("the last whole paragraph read back is %d", last)
	}
}

func TestLetterAndEmptyDocument(t *testing.T) {
	d := New(Letter, "Empty", time.Now(), "")
	b := d.Bytes()
	checkXref(t, b)
	info, _ := pdftest.Read(t, b)
	if info.Pages != 1 || !strings.Contains(info.PageSize, "612 x 792") {
		t.Errorf("an empty Letter document: %+v", info)
	}
	d = New(Letter, "Pages", time.Now(), "")
	d.Text(Helvetica, 11, "one")
	d.NewPage()
	d.NewPage() // the new page is still empty: no blank page
	d.Text(Helvetica, 11, "two")
	if info, text := pdftest.Read(t, d.Bytes()); info.Pages != 2 || !strings.Contains(text, "two") {
		t.Errorf("two pages: %+v %q", info, text)
	}
}

// checkXref reads the cross-reference table the way a strict reader does:
// startxref points at it, and each entry at its object.
func checkXref(t *testing.T, b []byte) {
	t.Helper()
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no startxref at the end")
	}
	at, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(b[at:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the xref table", at)
	}
	var n int
	fmt.Sscanf(string(b[at+len("xref\n0 "):]), "%d", &n)
	entries := b[bytes.IndexByte(b[at+5:], '\n')+at+6:]
	for i := 1; i < n; i++ {
		e := entries[20*i : 20*i+20]
		if e[18] != ' ' && e[19] != '\n' {
			t.Fatalf("xref entry %d is not 20 bytes: %q", i, e)
		}
		off, _ := strconv.Atoi(string(e[:10]))
		if !bytes.HasPrefix(b[off:], fmt.Appendf(nil, "%d 0 obj\n", i)) {
			t.Errorf("xref entry %d points at %q", i, b[off:min(off+12, len(b))])
		}
	}
}
