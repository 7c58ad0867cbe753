package audit_test

// Validation of FHIR R4 JSON against the official HL7 FHIR R4 (4.0.1) JSON
// schema, kept gzipped in testdata/ (see testdata/FHIR-SCHEMA.md for where
// it came from). Only this file's helpers are meant to be used by other
// tests: validateFHIR in positive tests, fhirSchemaErr where a failure is
// expected.

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

const (
	// fhirSchemaFile is the official fhir.schema.json, gzip -9.
	fhirSchemaFile = "testdata/fhir.schema.json.gz"
	// fhirSchemaSHA256 is the sha256 of the uncompressed official file, as
	// published by HL7 in fhir.schema.json.zip for R4 4.0.1.
	fhirSchemaSHA256 = "2230406893b4cf002a4ee1e5e2bbeca22ac5d2d4931b3e9ef7b9594bbc376a01"
	// fhirSchemaURL is the schema's own "id"; nothing is fetched from it.
	fhirSchemaURL = "http://hl7.org/fhir/json-schema/4.0"
)

var fhirSchema struct {
	once   sync.Once
	schema *jsonschema.Schema
	err    error
}

// loadFHIRSchema decompresses, checks and compiles the schema once per test
// binary. Compiling takes on the order of a second.
func loadFHIRSchema() (*jsonschema.Schema, error) {
	fhirSchema.once.Do(func() {
		fhirSchema.schema, fhirSchema.err = compileFHIRSchema()
	})
	return fhirSchema.schema, fhirSchema.err
}

func compileFHIRSchema() (*jsonschema.Schema, error) {
	f, err := os.Open(filepath.FromSlash(fhirSchemaFile))
	if err != nil {
		return nil, fmt.Errorf("fhir schema: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("fhir schema: %s: %w", fhirSchemaFile, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("fhir schema: %s: %w", fhirSchemaFile, err)
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != fhirSchemaSHA256 {
		return nil, fmt.Errorf("fhir schema: %s: sha256 %x of the uncompressed file, want %s (not the official R4 4.0.1 schema)",
			fhirSchemaFile, sum, fhirSchemaSHA256)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("fhir schema: %s: %w", fhirSchemaFile, err)
	}
	c := jsonschema.NewCompiler()
	// The file declares draft-06 in "$schema"; say so too in case it is
	// ever read without it. Its "id" is draft-04 spelling and is ignored
	// under draft-06, so the resource is registered under that URL here.
	c.DefaultDraft(jsonschema.Draft6)
	if err := c.AddResource(fhirSchemaURL, doc); err != nil {
		return nil, fmt.Errorf("fhir schema: %w", err)
	}
	sch, err := c.Compile(fhirSchemaURL)
	if err != nil {
		return nil, fmt.Errorf("fhir schema: compile: %w", err)
	}
	return sch, nil
}

// fhirSchemaErr validates doc, a FHIR R4 JSON resource (such as a Bundle),
// against the official schema. It returns nil when doc is valid, and
// otherwise an error listing every violation with its instance location and
// schema keyword location.
func fhirSchemaErr(doc []byte) error {
	sch, err := loadFHIRSchema()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	err = sch.Validate(inst)
	if err == nil {
		return nil
	}
	verr, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return err
	}
	return &fhirValidationError{verr: pruneFHIROneOf(verr, inst)}
}

// validateFHIR fails the test with the validator's detailed error list when
// doc is not valid against the official FHIR R4 schema.
func validateFHIR(t testing.TB, doc []byte) {
	t.Helper()
	if err := fhirSchemaErr(doc); err != nil {
		t.Fatalf("document is not valid FHIR R4 (official JSON schema):\n%v", err)
	}
}

// fhirValidationError prints the validator's own error tree in its verbose
// form: one line per violation, "at '<instance pointer>' [<schema keyword
// location>]: <message>", indented under the keyword that contains it.
type fhirValidationError struct {
	verr *jsonschema.ValidationError
}

func (e *fhirValidationError) Error() string { return fmt.Sprintf("%#v", e.verr) }

func (e *fhirValidationError) Unwrap() error { return e.verr }

// pruneFHIROneOf cuts the noise out of the validator's report. The schema
// root, and every place a resource may stand (Bundle.entry.resource,
// contained, Parameters...), is a oneOf over all 146 resource definitions,
// so one bad element in a resource is reported once per resource type. Where
// the instance has a resourceType and one branch of the oneOf is that type's
// definition, only that branch's errors are kept. When no branch is (the
// resourceType is not an R4 resource), the branches are folded into one
// "value must be one of ..." error at the resourceType.
func pruneFHIROneOf(e *jsonschema.ValidationError, inst any) *jsonschema.ValidationError {
	out := *e
	out.Causes = nil
	if _, ok := e.ErrorKind.(*kind.OneOf); ok && len(e.Causes) > 1 {
		if rt, ok := fhirResourceTypeAt(inst, e.InstanceLocation); ok {
			for _, c := range e.Causes {
				if fhirRefersToDefinition(c, rt) {
					out.Causes = append(out.Causes, pruneFHIROneOf(c, inst))
					return &out
				}
			}
			if folded := fhirFoldResourceTypes(e, rt); folded != nil {
				out.Causes = append(out.Causes, folded)
				return &out
			}
		}
	}
	for _, c := range e.Causes {
		out.Causes = append(out.Causes, pruneFHIROneOf(c, inst))
	}
	return &out
}

// fhirFoldResourceTypes gathers, from every branch of a failed oneOf, the const
// failure on the branch's resourceType, into one enum error; nil if some
// branch has no such failure.
func fhirFoldResourceTypes(e *jsonschema.ValidationError, got string) *jsonschema.ValidationError {
	var want []any
	var first *jsonschema.ValidationError
	for _, c := range e.Causes {
		k := fhirFindResourceTypeConst(c, len(e.InstanceLocation)+1)
		if k == nil {
			return nil
		}
		if first == nil {
			first = k
		}
		want = append(want, k.ErrorKind.(*kind.Const).Want)
	}
	return &jsonschema.ValidationError{
		SchemaURL:        e.SchemaURL + "/oneOf", // shown as ".../oneOf/enum": a summary, not a keyword of the file
		InstanceLocation: first.InstanceLocation,
		ErrorKind:        &kind.Enum{Got: got, Want: want},
	}
}

func fhirFindResourceTypeConst(e *jsonschema.ValidationError, depth int) *jsonschema.ValidationError {
	if _, ok := e.ErrorKind.(*kind.Const); ok && len(e.InstanceLocation) == depth &&
		e.InstanceLocation[depth-1] == "resourceType" {
		return e
	}
	for _, c := range e.Causes {
		if k := fhirFindResourceTypeConst(c, depth); k != nil {
			return k
		}
	}
	return nil
}

// fhirRefersToDefinition reports whether the error is a $ref failure into
// #/definitions/<name> (possibly under wrappers with a single cause).
func fhirRefersToDefinition(e *jsonschema.ValidationError, name string) bool {
	suffix := "#/definitions/" + name
	for {
		if ref, ok := e.ErrorKind.(*kind.Reference); ok {
			return strings.HasSuffix(ref.URL, suffix)
		}
		if strings.HasSuffix(e.SchemaURL, suffix) {
			return true
		}
		if len(e.Causes) != 1 {
			return false
		}
		e = e.Causes[0]
	}
}

// fhirResourceTypeAt returns the "resourceType" string of the object at the
// JSON pointer tokens loc in inst.
func fhirResourceTypeAt(inst any, loc []string) (string, bool) {
	v := inst
	for _, tok := range loc {
		switch x := v.(type) {
		case map[string]any:
			v = x[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return "", false
			}
			v = x[i]
		default:
			return "", false
		}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return "", false
	}
	rt, ok := obj["resourceType"].(string)
	return rt, ok
}

// TestFHIRSchemaHelperRejectsInvalid shows the helper is not a no-op: a
// minimal valid Bundle of one AuditEvent passes, and broken variants of it
// fail with an error that points at the broken element.
func TestFHIRSchemaHelperRejectsInvalid(t *testing.T) {
	const valid = `{
  "resourceType": "Bundle",
  "type": "collection",
  "entry": [{
    "fullUrl": "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "resource": {
      "resourceType": "AuditEvent",
      "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110", "display": "Patient Record"},
      "recorded": "2024-05-06T07:08:09.123Z",
      "agent": [{"who": {"display": "alice"}, "requestor": true}],
      "source": {"observer": {"display": "ward"}}
    }
  }]
}`
	validateFHIR(t, []byte(valid))

	cases := []struct {
		name    string
		old     string // replaced once in valid
		new     string
		wantErr []string // substrings of the error
	}{
		{
			name:    "unknown top-level property",
			old:     `"type": "collection",`,
			new:     `"type": "collection", "bogus": 1,`,
			wantErr: []string{"additional properties 'bogus' not allowed"},
		},
		{
			name:    "recorded of wrong type",
			old:     `"recorded": "2024-05-06T07:08:09.123Z"`,
			new:     `"recorded": 1714979289`,
			wantErr: []string{"at '/entry/0/resource/recorded'", "got number, want string"},
		},
		{
			name:    "recorded not an instant",
			old:     `"recorded": "2024-05-06T07:08:09.123Z"`,
			new:     `"recorded": "2024-05-06T07:08:09"`, // no zone
			wantErr: []string{"at '/entry/0/resource/recorded'", "does not match pattern"},
		},
		{
			name:    "AuditEvent missing source",
			old:     `"source": {"observer": {"display": "ward"}}`,
			new:     `"outcome": "0"`,
			wantErr: []string{"at '/entry/0/resource'", "missing property 'source'"},
		},
		{
			name:    "requestor not a boolean",
			old:     `"requestor": true`,
			new:     `"requestor": "true"`,
			wantErr: []string{"at '/entry/0/resource/agent/0/requestor'", "got string, want boolean"},
		},
		{
			name:    "empty string",
			old:     `"display": "alice"`,
			new:     `"display": ""`,
			wantErr: []string{"at '/entry/0/resource/agent/0/who/display'", "does not match pattern"},
		},
		{
			name:    "unknown AuditEvent property",
			old:     `"recorded":`,
			new:     `"recordedAt": "x", "recorded":`,
			wantErr: []string{"at '/entry/0/resource'", "additional properties 'recordedAt' not allowed"},
		},
		{
			name:    "bad resourceType in entry",
			old:     `"resourceType": "AuditEvent"`,
			new:     `"resourceType": "AuditEvnt"`,
			wantErr: []string{"at '/entry/0/resource/resourceType'", "value must be one of", "'AuditEvent'"},
		},
		{
			name:    "bad top-level resourceType",
			old:     `"resourceType": "Bundle"`,
			new:     `"resourceType": "Bundel"`,
			wantErr: []string{"at '/resourceType'", "value must be one of", "'Bundle'"},
		},
		{
			name:    "not JSON",
			old:     `"type": "collection",`,
			new:     `"type": "collection",,`,
			wantErr: []string{"not JSON"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(valid, tc.old) {
				t.Fatalf("bad test case: %q not in the valid document", tc.old)
			}
			doc := strings.Replace(valid, tc.old, tc.new, 1)
			err := fhirSchemaErr([]byte(doc))
			if err == nil {
				t.Fatalf("invalid document accepted:\n%s", doc)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			if n := strings.Count(err.Error(), "\n"); n > 20 {
				t.Errorf("error not pruned to the resource's own definition (%d lines):\n%v", n, err)
			}
		})
	}

	// Limits of the official schema, pinned so nobody relies on it for
	// them: it cannot require primitive elements (a primitive may be
	// carried as "_recorded" with only extensions), nor enforce cardinality
	// minimums on arrays. AuditEvent.recorded (1..1), agent (1..*) and
	// agent.requestor (1..1) must be checked by our own tests.
	for name, r := range map[string][2]string{
		"AuditEvent missing recorded":   {`"recorded": "2024-05-06T07:08:09.123Z",`, ``},
		"AuditEvent with empty agent":   {`"agent": [{"who": {"display": "alice"}, "requestor": true}]`, `"agent": []`},
		"AuditEvent agent no requestor": {`, "requestor": true`, ``},
	} {
		doc := strings.Replace(valid, r[0], r[1], 1)
		if doc == valid {
			t.Fatalf("%s: bad test case", name)
		}
		if err := fhirSchemaErr([]byte(doc)); err != nil {
			t.Errorf("%s: the schema now rejects it; move it to the cases above: %v", name, err)
		}
	}
}
