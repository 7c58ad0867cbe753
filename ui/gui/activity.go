package gui

// installActivityHooks makes input anywhere in the window reset the idle
// timer of the session in front (see activity_glfw.go when it lands).
func (u *UI) installActivityHooks() {}
