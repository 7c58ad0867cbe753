package emergency

import (
	"fmt"
	"strings"
	"time"

	"ward/emergency/pdf"
)

// KitSheet is what the printed emergency kit sheet shows.
type KitSheet struct {
	Clinic   string
	NodeID   string
	NodeName string
	KitFile  string // where the kit file is on this workstation
	Code     string // the recovery code, groups joined by "-"
	Made     time.Time
}

// codeGroupsPerLine keeps the large code readable: three groups a line.
const codeGroupsPerLine = 3

// KitSheetPDF lays out the one-page sheet for the clinic's safe: the
// recovery code large and grouped, whose kit it opens, and how to use it.
func KitSheetPDF(k KitSheet) []byte {
	doc := pdf.New(pdf.A4, "Ward emergency kit — "+k.Clinic, k.Made,
		"Ward emergency kit · "+k.Clinic+" · "+k.NodeName)
	doc.Banner(12, pdf.Red, "SECRET — this sheet opens every patient record of this workstation. "+
		"Keep it in the clinic's safe. Do not photograph, scan or e-mail it.")
	doc.Heading(20, "Emergency kit — "+k.Clinic)
	doc.Text(pdf.Helvetica, 11, fmt.Sprintf("Workstation %s (node %s). Made %s.", k.NodeName, k.NodeID,
		k.Made.Format("Monday 2 January 2006, 15:04")))
	doc.Space(10)
	doc.Text(pdf.HelveticaBold, 11, "Recovery code")
	groups := strings.Split(k.Code, "-")
	for i := 0; i < len(groups); i += codeGroupsPerLine {
		doc.Text(pdf.HelveticaBold, 26, strings.Join(groups[i:min(i+codeGroupsPerLine, len(groups))], "   "))
	}
	doc.Text(pdf.Helvetica, 9, "Letters and digits only; dashes and spaces do not matter when you type it, "+
		"and O may be typed for 0, I or L for 1.")
	doc.Space(6)
	doc.Rule()

	doc.Heading(13, "What it is for")
	doc.Text(pdf.Helvetica, 11, "Ward keeps this workstation's database key in the computer's keyring. "+
		"When the keyring is lost, the computer is replaced, or the records must be read on another machine, "+
		"the kit file together with this code opens the records. Keep a copy of the kit file with this sheet "+
		"(on a USB stick in the safe): on this workstation it is "+k.KitFile+".")
	doc.Heading(13, "To read the records when the keyring or the workstation is lost")
	doc.Item(pdf.Helvetica, 11, "Copy the workstation's data folder (or a backup restored into a folder) and the kit file to a computer with Ward.")
	doc.Item(pdf.Helvetica, 11, "Run:  ward emergency open --kit FILE --data DIR   and type this code when asked. "+
		"The records open read-only; every view is audited under your name.")
	doc.Item(pdf.Helvetica, 11, "To put the key back into this workstation's keyring:  ward --data DIR --kit FILE recover")
	doc.Heading(13, "To restore a backup")
	doc.Item(pdf.Helvetica, 11, "Run:  ward restore --from BACKUP-FILE --data NEW-FOLDER   and type this code when asked. "+
		"A backup opens with the code of the kit it was made with: keep old sheets until their backups are gone.")
	doc.Item(pdf.Helvetica, 11, "The restored database gets a new key and a new code: print the new sheet and put it here.")
	doc.Heading(13, "When this code is replaced")
	doc.Text(pdf.Helvetica, 11, "A rekey, restore or new kit makes a new code. Put the new sheet in the safe and destroy "+
		"this one once no backup made before the change is kept.")
	return doc.Bytes()
}
