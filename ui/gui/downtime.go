package gui

import (
	"context"
	"fmt"

	"ward/app"
)

// "Print downtime summary" on the Schedule tab: the day showing (everyone's
// or one clinician's) as a PDF for working on paper during an outage,
// saved where the clinician chooses, readable only by them.

// printDowntime asks where to save the summary of the day showing.
func (v *scheduleView) printDowntime() {
	v.u.askSavePath("downtime-"+v.day.Format("2006-01-02")+".pdf", "", v.saveDowntime,
		func(err error) { v.say(sentence(err), true) })
}

// saveDowntime writes the summary of the day showing to path.
func (v *scheduleView) saveDowntime(path string) {
	day, who := v.day, v.clinician()
	v.u.work(func(ctx context.Context) error {
		pdf, err := v.s.DowntimeSummary(ctx, day, who)
		if err != nil {
			return err
		}
		return app.WritePrivateFile(path, pdf)
	}, func(err error) {
		if err != nil {
			v.say(sentence(err), true)
			return
		}
		v.say(fmt.Sprintf("Downtime summary saved to %s (readable only by you). It holds patient information: "+
			"print it, keep the paper with you, and shred it and delete the file when Ward is back.", path), false)
	})
}
