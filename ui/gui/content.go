package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// setContent replaces the whole window's content. The focus goes first:
// Fyne does not tell a focused field that it left the window, so its
// blinking cursor would go on animating — repainting the window 60 times
// a second, for ever (measured: 6.5% of a core for an idle window, 2.2%
// with the focus cleared first).
func (u *UI) setContent(c fyne.CanvasObject) {
	u.win.Canvas().Unfocus()
	u.win.SetContent(c)
}

// centred puts box in the middle of the window, width wide and as tall as
// it needs (a fixed-size cell of height 0 would hang it below the middle).
func centred(width float32, box fyne.CanvasObject) fyne.CanvasObject {
	return container.NewCenter(container.New(fixedWidth(width), box))
}

// fixedWidth lays out its objects width wide, one over the other's place,
// as tall as the tallest needs.
type fixedWidth float32

func (w fixedWidth) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var h float32
	for _, o := range objs {
		h = max(h, o.MinSize().Height)
	}
	return fyne.NewSize(float32(w), h)
}

func (w fixedWidth) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

// wrappedHeading is a bold heading that wraps. Inside a scroll, one line
// that does not wrap widens the whole content past the scroll's edge, and
// every wrapped text below is then cut off there.
func wrappedHeading(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.Wrapping = fyne.TextWrapWord
	return l
}
