package app

import (
	"fmt"
	"os"

	"ward/emergency"
)

// Papers Ward prints for an emergency. They are secrets or patient
// information on purpose — the paper is the point — so the files are
// written readable by their owner only, and the person is told to print
// them and delete the file.

// KitSheet is the printable emergency kit sheet (one-page PDF) of this
// workstation for code, the recovery code just made: shown once, like the
// code itself.
func (c *Clinic) KitSheet(code string) []byte {
	n := c.Node()
	return emergency.KitSheetPDF(emergency.KitSheet{Clinic: c.Name(), NodeID: n.ID, NodeName: n.Name,
		KitFile: c.KitPath(), Code: code, Made: c.now()})
}

// WritePrivateFile writes data to path readable and writable by its owner
// only (0600), also when the file already existed with wider permissions.
func WritePrivateFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("cannot make %s private: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return f.Close()
}
