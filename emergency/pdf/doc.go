// Package pdf writes small PDF 1.4 text documents — the papers Ward prints
// for an emergency (the kit sheet, the downtime summary): pages of wrapped
// text in the standard Helvetica fonts, headings, coloured banners and
// rules, with a "page N of M" footer. Fonts are not embedded and streams
// are not compressed: every reader has the fonts, and the file stays small
// and plain enough to inspect.
package pdf

import (
	"bytes"
	"fmt"
	"time"
	"unicode/utf16"
)

// Size is a page size in points (1/72 inch).
type Size struct{ W, H float64 }

// Page sizes.
var (
	A4     = Size{595.28, 841.89}
	Letter = Size{612, 792}
)

// Color is an RGB colour, each part from 0 to 1.
type Color struct{ R, G, B float64 }

// Colours the documents use.
var (
	Black = Color{0, 0, 0}
	White = Color{1, 1, 1}
	Red   = Color{0.72, 0.07, 0.07}
	Grey  = Color{0.45, 0.45, 0.45}
)

const (
	margin     = 56.0 // ≈ 2 cm
	leading    = 1.3  // line height as a multiple of the font size
	footerSize = 8.0
	bannerPad  = 6.0
)

// Doc is a document being written, top to bottom: each call places its
// text below the last, starting a new page when the page is full.
type Doc struct {
	size    Size
	title   string
	created time.Time
	footer  string
	pages   []*bytes.Buffer // content streams
	y       float64         // distance from the page's top edge to where the next line starts
	empty   bool            // nothing drawn on the current page yet
}

// New starts a document of size pages. title names it in the reader's
// window; created is its creation time; footer (may be "") is printed at
// the bottom of every page beside "page N of M".
func New(size Size, title string, created time.Time, footer string) *Doc {
	return &Doc{size: size, title: title, created: created, footer: footer}
}

// Width is the width text may take: the page less its margins.
func (d *Doc) Width() float64 { return d.size.W - 2*margin }

// bottom is how far down the page text may go (the footer lies below).
func (d *Doc) bottom() float64 { return d.size.H - margin }

// NewPage starts a new page, unless the current one is still empty.
func (d *Doc) NewPage() {
	if len(d.pages) > 0 && d.empty {
		return
	}
	d.pages = append(d.pages, &bytes.Buffer{})
	d.y, d.empty = margin, true
}

// room makes sure h points fit below the cursor, starting a new page if
// not (a block taller than a page starts at the top and is split by lines).
func (d *Doc) room(h float64) {
	if len(d.pages) == 0 || (d.y+h > d.bottom() && !d.empty) {
		d.pages = append(d.pages, &bytes.Buffer{})
		d.y, d.empty = margin, true
	}
}

func (d *Doc) out(format string, a ...any) {
	fmt.Fprintf(d.pages[len(d.pages)-1], format, a...)
	d.empty = false
}

// line draws one encoded line with its top at the cursor and moves down.
func (d *Doc) line(f Font, size, x float64, c Color, enc []byte) {
	h := size * leading
	d.room(h)
	baseline := d.size.H - (d.y + size) // the cap height is below size: size from the top is a safe ascent
	d.out("BT %s %.2f Tf %.3f %.3f %.3f rg 1 0 0 1 %.2f %.2f Tm %s Tj ET\n",
		f.resource(), size, c.R, c.G, c.B, margin+x, baseline, literal(enc))
	d.y += h
}

// Text writes a paragraph, wrapped to the page width.
func (d *Doc) Text(f Font, size float64, text string) {
	d.Indented(f, size, 0, text)
}

// Indented writes a paragraph indented by indent points.
func (d *Doc) Indented(f Font, size, indent float64, text string) {
	for _, l := range wrapEncoded(f, size, d.Width()-indent, text) {
		d.line(f, size, indent, Black, l)
	}
}

// Item writes a bulleted list item: the bullet hangs, the text wraps
// under itself.
func (d *Doc) Item(f Font, size float64, text string) {
	indent := size * 1.2
	for i, l := range wrapEncoded(f, size, d.Width()-indent, text) {
		if i == 0 {
			d.room(size * leading)
			d.out("BT %s %.2f Tf 0 0 0 rg 1 0 0 1 %.2f %.2f Tm %s Tj ET\n",
				f.resource(), size, margin, d.size.H-(d.y+size), literal([]byte{149})) // • in WinAnsi
		}
		d.line(f, size, indent, Black, l)
	}
}

// Heading writes a bold heading, kept on a page with at least two lines
// of what follows it.
func (d *Doc) Heading(size float64, text string) {
	lines := wrapEncoded(HelveticaBold, size, d.Width(), text)
	if !d.empty {
		d.Space(size * 0.5)
	}
	d.room(float64(len(lines))*size*leading + 2*11*leading)
	for _, l := range lines {
		d.line(HelveticaBold, size, 0, Black, l)
	}
}

// Banner writes bold white text on a full-width filled rectangle: what
// must not be missed on the page.
func (d *Doc) Banner(size float64, fill Color, text string) {
	lines := wrapEncoded(HelveticaBold, size, d.Width()-2*bannerPad, text)
	h := float64(len(lines))*size*leading + 2*bannerPad
	d.room(h)
	d.out("%.3f %.3f %.3f rg %.2f %.2f %.2f %.2f re f\n", fill.R, fill.G, fill.B,
		margin, d.size.H-(d.y+h), d.Width(), h)
	d.y += bannerPad
	for _, l := range lines {
		d.line(HelveticaBold, size, bannerPad, White, l)
	}
	d.y += bannerPad
}

// Rule draws a thin grey line across the page.
func (d *Doc) Rule() {
	d.room(8)
	y := d.size.H - (d.y + 4)
	d.out("0.6 w %.3f %.3f %.3f RG %.2f %.2f m %.2f %.2f l S\n", Grey.R, Grey.G, Grey.B, margin, y, margin+d.Width(), y)
	d.y += 8
}

// Space leaves pt points of blank space (none at the top of a page).
func (d *Doc) Space(pt float64) {
	if len(d.pages) > 0 && !d.empty {
		d.y += pt
	}
}

// Pages is how many pages the document has so far.
func (d *Doc) Pages() int { return len(d.pages) }

// Bytes is the finished document. A document with nothing written has
// one blank page.
func (d *Doc) Bytes() []byte {
	if len(d.pages) == 0 {
		d.NewPage()
	}
	n := len(d.pages)
	var w writer
	w.buf.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n") // binary marker: the file holds 8-bit bytes
	// Objects 1–5 are fixed; page i is object 6+2i, its content 7+2i.
	w.object(1, "<< /Type /Catalog /Pages 2 0 R >>")
	var kids bytes.Buffer
	for i := range n {
		fmt.Fprintf(&kids, "%d 0 R ", 6+2*i)
	}
	w.object(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), n))
	for i, f := range []Font{Helvetica, HelveticaBold} {
		w.object(3+i, fmt.Sprintf("<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>", f.baseName()))
	}
	w.object(5, fmt.Sprintf("<< /Title %s /Producer (Ward) /CreationDate (D:%s) >>",
		utf16Text(d.title), d.created.UTC().Format("20060102150405Z")))
	for i, content := range d.pages {
		d.footerOn(content, i+1, n)
		w.object(6+2*i, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] "+
			"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>", d.size.W, d.size.H, 7+2*i))
		w.stream(7+2*i, content.Bytes())
	}
	return w.finish(1, 5)
}

// footerOn writes the footer of page i of n into its content.
func (d *Doc) footerOn(content *bytes.Buffer, i, n int) {
	y := margin / 2
	if d.footer != "" {
		fmt.Fprintf(content, "BT /F1 %.1f Tf %.3f %.3f %.3f rg 1 0 0 1 %.2f %.2f Tm %s Tj ET\n",
			footerSize, Grey.R, Grey.G, Grey.B, margin, y, literal(Encode(d.footer)))
	}
	page := Encode(fmt.Sprintf("page %d of %d", i, n))
	x := d.size.W - margin - Helvetica.width(page, footerSize)
	fmt.Fprintf(content, "BT /F1 %.1f Tf %.3f %.3f %.3f rg 1 0 0 1 %.2f %.2f Tm %s Tj ET\n",
		footerSize, Grey.R, Grey.G, Grey.B, x, y, literal(page))
}

// literal is a PDF string of encoded text: parentheses and backslashes
// escaped, bytes outside printable ASCII as octal.
func literal(enc []byte) string {
	var b bytes.Buffer
	b.WriteByte('(')
	for _, c := range enc {
		switch {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 32 || c > 126:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(')')
	return b.String()
}

// utf16Text is a text string for the document information (any
// language): UTF-16BE with its byte order mark, in hex.
func utf16Text(s string) string {
	var b bytes.Buffer
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteByte('>')
	return b.String()
}

// writer lays out numbered objects and remembers where each starts, for
// the cross-reference table.
type writer struct {
	buf     bytes.Buffer
	offsets []int // offsets[i] is where object i+1 starts
}

func (w *writer) begin(num int) {
	for len(w.offsets) < num {
		w.offsets = append(w.offsets, 0)
	}
	w.offsets[num-1] = w.buf.Len()
	fmt.Fprintf(&w.buf, "%d 0 obj\n", num)
}

func (w *writer) object(num int, body string) {
	w.begin(num)
	w.buf.WriteString(body)
	w.buf.WriteString("\nendobj\n")
}

func (w *writer) stream(num int, data []byte) {
	w.begin(num)
	fmt.Fprintf(&w.buf, "<< /Length %d >>\nstream\n", len(data))
	w.buf.Write(data)
	w.buf.WriteString("\nendstream\nendobj\n")
}

// finish writes the cross-reference table and the trailer. Each xref
// entry is exactly 20 bytes, as the format requires.
func (w *writer) finish(root, info int) []byte {
	xref := w.buf.Len()
	fmt.Fprintf(&w.buf, "xref\n0 %d\n0000000000 65535 f \n", len(w.offsets)+1)
	for _, off := range w.offsets {
		fmt.Fprintf(&w.buf, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&w.buf, "trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n",
		len(w.offsets)+1, root, info, xref)
	return w.buf.Bytes()
}
