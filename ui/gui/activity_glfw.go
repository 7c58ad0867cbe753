package gui

import (
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	"fyne.io/fyne/v2"
	"github.com/go-gl/glfw/v3.4/glfw"
)

// chainGLFWInput puts touch in front of the GLFW input callbacks of w (a
// window of Fyne's desktop driver): cursor moves, mouse buttons, scrolling,
// keys and typed characters each call touch, then the callback Fyne set, so
// Fyne still sees every event. Call it on the Fyne goroutine (the main
// thread, where GLFW wants it) after the window is shown.
//
// Fyne keeps its *glfw.Window in an unexported field, "viewport", of its
// window type (internal/driver/glfw/window_desktop.go in Fyne v2.8.1). The
// field's name and type are checked before it is read: a Fyne that changed
// them makes this return an error, and the caller falls back to the public
// route, instead of reading the wrong memory.
func chainGLFWInput(w fyne.Window, touch func()) error {
	gw, err := glfwWindowOf(w)
	if err != nil {
		return err
	}
	var (
		prevPos    glfw.CursorPosCallback
		prevButton glfw.MouseButtonCallback
		prevScroll glfw.ScrollCallback
		prevKey    glfw.KeyCallback
		prevChar   glfw.CharCallback
	)
	prevPos = gw.SetCursorPosCallback(func(win *glfw.Window, x, y float64) {
		touch()
		if prevPos != nil {
			prevPos(win, x, y)
		}
	})
	prevButton = gw.SetMouseButtonCallback(func(win *glfw.Window, b glfw.MouseButton, a glfw.Action, m glfw.ModifierKey) {
		touch()
		if prevButton != nil {
			prevButton(win, b, a, m)
		}
	})
	prevScroll = gw.SetScrollCallback(func(win *glfw.Window, x, y float64) {
		touch()
		if prevScroll != nil {
			prevScroll(win, x, y)
		}
	})
	prevKey = gw.SetKeyCallback(func(win *glfw.Window, k glfw.Key, sc int, a glfw.Action, m glfw.ModifierKey) {
		touch()
		if prevKey != nil {
			prevKey(win, k, sc, a, m)
		}
	})
	prevChar = gw.SetCharCallback(func(win *glfw.Window, r rune) {
		touch()
		if prevChar != nil {
			prevChar(win, r)
		}
	})
	return nil
}

// glfwWindowOf reads the *glfw.Window behind a Fyne desktop window.
func glfwWindowOf(w fyne.Window) (*glfw.Window, error) {
	v := reflect.ValueOf(w)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("the window is a %T, not Fyne's GLFW window", w)
	}
	f := v.Elem().FieldByName("viewport")
	want := reflect.TypeFor[*glfw.Window]()
	if !f.IsValid() || f.Type() != want {
		return nil, fmt.Errorf("the window (%T) has no field viewport of type %v", w, want)
	}
	gw := *(**glfw.Window)(unsafe.Pointer(f.UnsafeAddr()))
	if gw == nil {
		return nil, errors.New("the window has not been shown yet")
	}
	return gw, nil
}
