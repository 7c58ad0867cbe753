package gui

// tourHook is set only in the screenshots build (tour.go, build tag
// "screenshots"): it runs `make screenshots`' tour of every screen in the
// window Run opened.
var tourHook func(u *UI)

// startTour runs the screenshot tour when this build has one.
func (u *UI) startTour() {
	if tourHook != nil {
		tourHook(u)
	}
}
