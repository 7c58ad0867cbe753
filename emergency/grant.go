// Package emergency holds the rules of emergency access: the reasons a
// person may give for break-glass, how long a grant runs, what a review
// says and when it is overdue, and the documents made for an emergency
// (downtime summary, kit sheet, evidence report). It keeps no state of its
// own: grants are rows in store, and app runs them through the audited
// door. Nothing here needs the network or a second person.
package emergency

import (
	"fmt"
	"strings"
	"time"

	"ward/store"
)

// Reason codes a person chooses when breaking the glass. They are stored
// and audited as codes; Label is what screens show.
const (
	ReasonTreatment   = "emergency-treatment"
	ReasonUnconscious = "patient-unconscious"
	ReasonCovering    = "covering-clinician"
	ReasonOther       = "other" // free text required
)

// Reason is a code and its words.
type Reason struct{ Code, Label string }

// Reasons in the order screens offer them.
var Reasons = []Reason{
	{ReasonTreatment, "Emergency treatment"},
	{ReasonUnconscious, "Patient unconscious or unable to consent"},
	{ReasonCovering, "Covering for the patient's clinician"},
	{ReasonOther, "Other (explain)"},
}

// ReasonLabel is the words for a code (the code itself if unknown).
func ReasonLabel(code string) string {
	for _, r := range Reasons {
		if r.Code == code {
			return r.Label
		}
	}
	return code
}

// Grant lengths: the administrator's setting is kept within these.
const (
	DefaultLength       = 60 * time.Minute
	DefaultReviewWithin = 72 * time.Hour
	maxReasonText       = 500
)

// InputError names the field a person must fix and how.
type InputError struct{ Field, Problem string }

func (e *InputError) Error() string { return e.Field + ": " + e.Problem }

// CheckReason validates a break-glass reason and returns the free text
// trimmed. "other" needs words; any code needs to be one of Reasons.
func CheckReason(code, text string) (string, error) {
	text = strings.TrimSpace(text)
	known := false
	for _, r := range Reasons {
		known = known || r.Code == code
	}
	switch {
	case code == "":
		return "", &InputError{"reason", "choose why you need emergency access (" + reasonCodes() + ")"}
	case !known:
		return "", &InputError{"reason", fmt.Sprintf("%q is not a reason Ward knows; choose one of %s", code, reasonCodes())}
	case code == ReasonOther && text == "":
		return "", &InputError{"reason", "with \"other\", write in a few words why you need this chart"}
	case len(text) > maxReasonText:
		return "", &InputError{"reason", fmt.Sprintf("keep the explanation under %d characters", maxReasonText)}
	}
	return text, nil
}

func reasonCodes() string {
	codes := make([]string, len(Reasons))
	for i, r := range Reasons {
		codes[i] = r.Code
	}
	return strings.Join(codes, ", ")
}

// Review dispositions.
const (
	Appropriate    = "appropriate"
	NotAppropriate = "not-appropriate"
)

// CheckReview validates an officer's disposition and note (a note is
// always required: the review is evidence, and "ok" explains nothing).
func CheckReview(disposition, note string) (string, error) {
	note = strings.TrimSpace(note)
	switch {
	case disposition != Appropriate && disposition != NotAppropriate:
		return "", &InputError{"disposition", "say whether the access was " + Appropriate + " or " + NotAppropriate}
	case note == "":
		return "", &InputError{"note", "write a note saying what you checked (e.g. the patient was seen in the emergency room that day)"}
	case len(note) > maxReasonText:
		return "", &InputError{"note", fmt.Sprintf("keep the note under %d characters", maxReasonText)}
	}
	return note, nil
}

// State is where a grant stands at a moment.
type State string

const (
	Running State = "running"
	Ended   State = "ended"   // ended early by its holder
	Expired State = "expired" // its time ran out
)

// StateAt tells where g stands at now.
func StateAt(g store.Grant, now time.Time) State {
	switch {
	case g.ActiveAt(now):
		return Running
	case !g.Ended.IsZero() && g.EndedBy != store.GrantExpired && g.Ended.Before(g.Expires):
		return Ended
	}
	return Expired
}

// TimeLeft is how long g still opens the chart (0 when it does not).
func TimeLeft(g store.Grant, now time.Time) time.Duration {
	if !g.ActiveAt(now) {
		return 0
	}
	return g.Expires.Sub(now)
}

// ReviewOverdue tells whether g is still unreviewed longer than within
// after it began.
func ReviewOverdue(g store.Grant, now time.Time, within time.Duration) bool {
	return g.Review == nil && now.Sub(g.Started) > within
}
