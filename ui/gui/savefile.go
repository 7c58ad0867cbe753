package gui

import (
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
)

// askSavePath shows the file-save dialog proposing name in dir (the home
// folder when dir is ""), and hands chosen the path picked; failed, if set,
// gets the dialog's own error. The dialog creates the file empty: it is
// closed here, and the caller writes it (privately, 0600) or removes it.
func (u *UI) askSavePath(name, dir string, chosen func(path string), failed func(error)) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			if failed != nil {
				failed(err)
			}
			return
		}
		if w == nil {
			return // cancelled
		}
		w.Close()
		chosen(w.URI().Path())
	}, u.win)
	d.SetFileName(name)
	if dir == "" {
		dir, _ = os.UserHomeDir()
	}
	if l, err := storage.ListerForURI(storage.NewFileURI(dir)); err == nil {
		d.SetLocation(l)
	}
	d.Show()
}
