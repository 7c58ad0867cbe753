package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// FHIR R4 export: a Bundle of type "collection" holding one AuditEvent per
// entry (docs/formats.md, "Audit export"). The mapping is lossless: every
// field of the entry and its prev hash can be read back, so VerifyExport
// recomputes each hash from the FHIR file alone.

const (
	dicomSystem      = "http://dicom.nema.org/resources/ontology/DCM"
	entityTypeSystem = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	objectRoleSystem = "http://terminology.hl7.org/CodeSystem/object-role"
	actReasonSystem  = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	chainSystem      = "urn:ward:audit-chain"
)

type fhirCoding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type fhirIdentifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value"`
}

type fhirReference struct {
	Reference  string          `json:"reference,omitempty"`
	Identifier *fhirIdentifier `json:"identifier,omitempty"`
	Display    string          `json:"display,omitempty"`
}

type fhirDetail struct {
	Type              string `json:"type"`
	ValueString       string `json:"valueString,omitempty"`
	ValueBase64Binary string `json:"valueBase64Binary,omitempty"`
}

type fhirEntity struct {
	What   *fhirReference `json:"what,omitempty"`
	Type   *fhirCoding    `json:"type,omitempty"`
	Role   *fhirCoding    `json:"role,omitempty"`
	Detail []fhirDetail   `json:"detail,omitempty"`
}

type fhirAgent struct {
	Who       *fhirReference `json:"who,omitempty"`
	Requestor bool           `json:"requestor"`
}

type fhirConcept struct {
	Coding []fhirCoding `json:"coding"`
}

type fhirAuditEvent struct {
	ResourceType   string        `json:"resourceType"`
	ID             string        `json:"id"`
	Type           fhirCoding    `json:"type"`
	Subtype        []fhirCoding  `json:"subtype,omitempty"`
	Action         string        `json:"action"`
	Recorded       string        `json:"recorded"`
	Outcome        string        `json:"outcome"`
	PurposeOfEvent []fhirConcept `json:"purposeOfEvent,omitempty"`
	Agent          []fhirAgent   `json:"agent"`
	Source         struct {
		Observer fhirReference `json:"observer"`
	} `json:"source"`
	Entity []fhirEntity `json:"entity"`
}

type fhirBundleEntry struct {
	Resource fhirAuditEvent `json:"resource"`
}

// DICOM event types (DCM codes) for actions, matched in order on the action
// name; the table in docs/formats.md is this one.
var (
	dcmAppActivity   = fhirCoding{dicomSystem, "110100", "Application Activity"}
	dcmExport        = fhirCoding{dicomSystem, "110106", "Export"}
	dcmPatientRecord = fhirCoding{dicomSystem, "110110", "Patient Record"}
	dcmSecurityAlert = fhirCoding{dicomSystem, "110113", "Security Alert"}
	dcmUserAuth      = fhirCoding{dicomSystem, "110114", "User Authentication"}
	dcmLogin         = fhirCoding{dicomSystem, "110122", "Login"}
	dcmLogout        = fhirCoding{dicomSystem, "110123", "Logout"}
	dcmEmergStart    = fhirCoding{dicomSystem, "110127", "Emergency Override Started"}
	dcmEmergStop     = fhirCoding{dicomSystem, "110128", "Emergency Override Stopped"}
)

// recordKinds are the action prefixes of clinic records (one per table).
var recordKinds = []string{"patient.", "appointment.", "encounter.", "note.", "allergy.", "medication.", "problem."}

// fhirEventType maps an action name to its DICOM type, subtype and FHIR
// action code (C, R, U, D, E).
func fhirEventType(action string) (typ fhirCoding, sub *fhirCoding, code string) {
	verb := action[strings.LastIndexByte(action, '.')+1:]
	switch {
	case action == "user.signin" || action == "user.login":
		return dcmUserAuth, &dcmLogin, "E"
	case action == "user.signout" || action == "user.logout":
		return dcmUserAuth, &dcmLogout, "E"
	case action == "emergency.start":
		return dcmSecurityAlert, &dcmEmergStart, "E"
	case action == "emergency.end" || action == "emergency.stop":
		return dcmSecurityAlert, &dcmEmergStop, "E"
	case strings.HasPrefix(action, "emergency."):
		return dcmSecurityAlert, nil, verbCode(verb)
	case verb == "export":
		return dcmExport, nil, "R"
	}
	for _, p := range recordKinds {
		if strings.HasPrefix(action, p) {
			return dcmPatientRecord, nil, verbCode(verb)
		}
	}
	return dcmAppActivity, nil, verbCode(verb)
}

func verbCode(verb string) string {
	switch verb {
	case "create", "add", "new", "import":
		return "C"
	case "read", "view", "open", "search", "list", "print", "export":
		return "R"
	case "update", "edit", "sign", "amend", "merge", "restore":
		return "U"
	case "delete", "remove", "void":
		return "D"
	}
	return "E"
}

var fhirOutcomes = map[string]string{OutcomeSuccess: "0", OutcomeDenied: "4", OutcomeFailure: "8"}

// fhirSafe reports whether s can be a FHIR string as is: not empty, and no
// whitespace but space, TAB, CR and LF (the schema's ^[ \r\n\t\S]+$ read with
// ECMAScript's \s, which is wider than Go's). Other values travel base64.
func fhirSafe(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch r {
		case '\v', '\f', '\u00a0', '\u1680', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff':
			return false
		}
		if r >= '\u2000' && r <= '\u200a' {
			return false
		}
	}
	return true
}

// fhirValue puts a non-empty value in a detail, as valueString when it is a
// safe FHIR string and as valueBase64Binary otherwise.
func fhirValue(typ, v string) fhirDetail {
	if fhirSafe(v) {
		return fhirDetail{Type: typ, ValueString: v}
	}
	return fhirDetail{Type: typ, ValueBase64Binary: base64.StdEncoding.EncodeToString([]byte(v))}
}

func toFHIR(x *exported) (fhirAuditEvent, error) {
	if !fhirSafe(x.Node) {
		return fhirAuditEvent{}, errors.New("the node id cannot be a FHIR string")
	}
	hash := hex.EncodeToString(x.Hash[:])
	typ, sub, code := fhirEventType(x.Action)
	ev := fhirAuditEvent{
		ResourceType: "AuditEvent", ID: hash, Type: typ, Action: code,
		Recorded: formatTime(x.Time), Outcome: fhirOutcomes[x.Outcome],
	}
	if ev.Outcome == "" {
		return ev, errors.New("the outcome has no FHIR code")
	}
	if sub != nil {
		ev.Subtype = []fhirCoding{*sub}
	}
	if x.Grant != "" {
		ev.PurposeOfEvent = []fhirConcept{{Coding: []fhirCoding{{actReasonSystem, "ETREAT", "Emergency Treatment"}}}}
	}
	chain := fhirEntity{
		What: &fhirReference{Identifier: &fhirIdentifier{System: chainSystem, Value: x.Node + "/" + strconv.FormatUint(x.Seq, 10)}},
		Type: &fhirCoding{entityTypeSystem, "4", "Other"},
		Detail: []fhirDetail{
			{Type: "hash", ValueString: hash},
			{Type: "prev", ValueString: hex.EncodeToString(x.Prev[:])},
			fhirValue("action", x.Action),
		},
	}
	switch {
	case x.User == "":
		// Work the workstation did by itself: the node is the agent.
		ev.Agent = []fhirAgent{{Who: &fhirReference{Display: x.Node}, Requestor: false}}
	case fhirSafe(x.User):
		ev.Agent = []fhirAgent{{Who: &fhirReference{Identifier: &fhirIdentifier{Value: x.User}}, Requestor: true}}
	default:
		ev.Agent = []fhirAgent{{Requestor: true}}
		chain.Detail = append(chain.Detail, fhirValue("user", x.User))
	}
	ev.Source.Observer.Display = x.Node
	switch {
	case x.Patient == "":
	case fhirSafe(x.Patient):
		ev.Entity = append(ev.Entity, fhirEntity{
			What: &fhirReference{Reference: "Patient/" + x.Patient},
			Type: &fhirCoding{entityTypeSystem, "1", "Person"},
			Role: &fhirCoding{objectRoleSystem, "1", "Patient"},
		})
	default:
		chain.Detail = append(chain.Detail, fhirValue("patient", x.Patient))
	}
	if x.Detail != "" {
		chain.Detail = append(chain.Detail, fhirValue("detail", x.Detail))
	}
	if x.Grant != "" {
		chain.Detail = append(chain.Detail, fhirValue("grant", x.Grant))
	}
	ev.Entity = append(ev.Entity, chain)
	return ev, nil
}

// encodeFHIREntry is one line of the Bundle's entry array, without the comma.
func encodeFHIREntry(x *exported) ([]byte, error) {
	ev, err := toFHIR(x)
	if err != nil {
		return nil, err
	}
	return marshal(fhirBundleEntry{Resource: ev})
}

// The Bundle is written one entry per line, so that it streams and so that
// VerifyExport can name a line:
//
//	{"resourceType":"Bundle","type":"collection","timestamp":"…","entry":[
//	{"resource":{…}},
//	{"resource":{…}}
//	]}
//
// With no entries the first line is {"resourceType":"Bundle",…,"timestamp":"…"}
// (FHIR JSON allows no empty arrays).
func fhirHeader(created time.Time) string {
	return `{"resourceType":"Bundle","type":"collection","timestamp":"` + formatTime(created) + `"`
}

const (
	fhirOpen  = `,"entry":[`
	fhirClose = `]}`
)

type fhirEncoder struct {
	w       io.Writer
	created time.Time
	n       int
}

func newFHIREncoder(w io.Writer, created time.Time) (*fhirEncoder, error) {
	_, err := io.WriteString(w, fhirHeader(created))
	return &fhirEncoder{w: w, created: created}, err
}

func (e *fhirEncoder) write(x *exported) error {
	b, err := encodeFHIREntry(x)
	if err != nil {
		return err
	}
	sep := ",\n"
	if e.n == 0 {
		sep = fhirOpen + "\n"
	}
	e.n++
	if _, err := io.WriteString(e.w, sep); err != nil {
		return err
	}
	_, err = e.w.Write(b)
	return err
}

func (e *fhirEncoder) close() error {
	end := "}\n"
	if e.n > 0 {
		end = "\n" + fhirClose + "\n"
	}
	_, err := io.WriteString(e.w, end)
	return err
}

// fromFHIR reads an entry back from one Bundle entry line. The caller checks
// that encodeFHIREntry gives the same bytes back, so this parser only has to
// be right for what the encoder writes.
func fromFHIR(line []byte) (exported, error) {
	var be fhirBundleEntry
	var x exported
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&be); err != nil {
		return x, errors.New("not a Bundle entry holding an AuditEvent")
	}
	ev := &be.Resource
	if ev.ResourceType != "AuditEvent" || len(ev.Entity) == 0 || len(ev.Agent) != 1 {
		return x, errors.New("not an AuditEvent as Ward writes it")
	}
	chain := ev.Entity[len(ev.Entity)-1]
	if chain.What == nil || chain.What.Identifier == nil || chain.What.Identifier.System != chainSystem {
		return x, errors.New("no audit-chain entity")
	}
	id := chain.What.Identifier.Value
	slash := strings.LastIndexByte(id, '/')
	seq, err := strconv.ParseUint(id[slash+1:], 10, 64)
	if slash < 1 || err != nil {
		return x, errors.New("bad audit-chain identifier")
	}
	x.Node, x.Seq = id[:slash], seq
	if x.Time, err = parseTime(ev.Recorded); err != nil {
		return x, errors.New("bad recorded time")
	}
	for o, code := range fhirOutcomes {
		if ev.Outcome == code {
			x.Outcome = o
		}
	}
	if who := ev.Agent[0].Who; who != nil && who.Identifier != nil {
		x.User = who.Identifier.Value
	}
	if len(ev.Entity) == 2 && ev.Entity[0].What != nil {
		x.Patient = strings.TrimPrefix(ev.Entity[0].What.Reference, "Patient/")
	}
	var hash, prev string
	for _, d := range chain.Detail {
		v := d.ValueString
		if d.ValueBase64Binary != "" {
			b, err := base64.StdEncoding.DecodeString(d.ValueBase64Binary)
			if err != nil {
				return x, fmt.Errorf("bad base64 in detail %q", d.Type)
			}
			v = string(b)
		}
		switch d.Type {
		case "hash":
			hash = v
		case "prev":
			prev = v
		case "action":
			x.Action = v
		case "user":
			x.User = v
		case "patient":
			x.Patient = v
		case "detail":
			x.Detail = v
		case "grant":
			x.Grant = v
		default:
			return x, errors.New("unknown detail type")
		}
	}
	if err := decodeHash(&x.Hash, hash); err != nil {
		return x, errors.New("bad hash detail")
	}
	if err := decodeHash(&x.Prev, prev); err != nil {
		return x, errors.New("bad prev detail")
	}
	return x, nil
}

func decodeHash(dst *[32]byte, s string) error {
	if len(s) != 64 {
		return errors.New("not 64 hex digits")
	}
	_, err := hex.Decode(dst[:], []byte(s))
	return err
}
