package pdf

import (
	"bytes"
	"strings"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// Font is one of the two standard fonts a Ward document uses. Standard
// fonts are not embedded: every PDF reader has them.
type Font int

const (
	Helvetica Font = iota
	HelveticaBold
)

// baseName is the font's PostScript name.
func (f Font) baseName() string {
	if f == HelveticaBold {
		return "Helvetica-Bold"
	}
	return "Helvetica"
}

// resource is the font's name in a page's resources.
func (f Font) resource() string {
	if f == HelveticaBold {
		return "/F2"
	}
	return "/F1"
}

//go:generate go run gen_widths.go

// widths are the font's glyph widths by WinAnsi code (widths.go).
func (f Font) widths() *[256]uint16 {
	if f == HelveticaBold {
		return &helveticaBoldWidths
	}
	return &helveticaWidths
}

// Replacement stands in for a character WinAnsiEncoding cannot show, so
// that a reader sees something is missing instead of nothing.
const Replacement = '?'

// Encode turns text into WinAnsiEncoding bytes. Composed accents (e + ◌́)
// are joined first so they print as é; a character with no glyph in the
// encoding becomes Replacement; a tab is a space.
func Encode(text string) []byte {
	text = norm.NFC.String(text)
	out := make([]byte, 0, len(text))
	for _, r := range text {
		if r == '\t' {
			r = ' '
		}
		b, ok := charmap.Windows1252.EncodeRune(r)
		if !ok || helveticaWidths[b] == 0 {
			b = Replacement
		}
		out = append(out, b)
	}
	return out
}

// width is the advance width of encoded text at size points.
func (f Font) width(enc []byte, size float64) float64 {
	w := f.widths()
	total := 0
	for _, b := range enc {
		total += int(w[b])
	}
	return float64(total) * size / 1000
}

// TextWidth is how wide text prints in f at size points.
func TextWidth(f Font, size float64, text string) float64 {
	return f.width(Encode(text), size)
}

// Wrap breaks text into lines no wider than width points in f at size:
// at spaces where it can, inside a word only when the word alone is too
// wide. A newline in text always starts a new line; an empty line stays.
// The lines come back as text (after Encode's replacements).
func Wrap(f Font, size, width float64, text string) []string {
	var out []string
	for _, l := range wrapEncoded(f, size, width, text) {
		out = append(out, decode(l))
	}
	return out
}

// wrapEncoded is Wrap's work, on WinAnsi bytes.
func wrapEncoded(f Font, size, width float64, text string) [][]byte {
	var lines [][]byte
	for _, hard := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		lines = append(lines, wrapLine(f, size, width, Encode(hard))...)
	}
	return lines
}

// wrapLine wraps one line of encoded text into at least one line.
func wrapLine(f Font, size, width float64, enc []byte) [][]byte {
	space := f.width([]byte{' '}, size)
	var lines [][]byte
	var cur []byte
	curW := 0.0
	for _, word := range bytes.Split(enc, []byte{' '}) { // split on the byte: WinAnsi is not UTF-8
		if len(word) == 0 {
			continue
		}
		ww := f.width(word, size)
		if len(cur) > 0 && curW+space+ww <= width {
			cur, curW = append(append(cur, ' '), word...), curW+space+ww
			continue
		}
		if len(cur) > 0 {
			lines, cur = append(lines, cur), nil
		}
		for ww > width && len(word) > 1 { // a word wider than the line: break it
			n := fit(f, size, width, word)
			lines = append(lines, word[:n])
			word = word[n:]
			ww = f.width(word, size)
		}
		cur, curW = append([]byte{}, word...), ww
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}

// fit is how many leading bytes of enc fit in width (at least one).
func fit(f Font, size, width float64, enc []byte) int {
	w := 0.0
	for i, b := range enc {
		w += float64(f.widths()[b]) * size / 1000
		if w > width {
			return max(i, 1)
		}
	}
	return len(enc)
}

// decode turns WinAnsi bytes back into text.
func decode(enc []byte) string {
	var b strings.Builder
	for _, c := range enc {
		b.WriteRune(charmap.Windows1252.DecodeByte(c))
	}
	return b.String()
}
