// Package audit keeps Ward's audit trail: one hash chain per workstation
// (node), appended in the same transaction as the change it records, with
// Ed25519-signed checkpoints; Verify, which names the first damaged entry of
// every chain; and exports (JSON Lines, CSV, FHIR R4) with a signed manifest
// that VerifyExport checks without a database.
//
// The byte formats are specified in docs/formats.md ("Audit entry",
// "Audit checkpoint", "Audit export and manifest"); each lives in one file
// here: entry.go, checkpoint.go, export.go and fhir.go, manifest.go.
//
// Nothing here imports store: store hands audit a transaction (DBTX).
package audit
