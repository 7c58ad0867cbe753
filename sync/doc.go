// Package sync is the replica's segment layer (docs/replica.md): it seals
// this workstation's committed change-log ranges and audit entries into
// signed segment files in its outbox, and applies its peers' segments from
// their inboxes, in order, one transaction each, refusing (quarantining)
// anything that does not verify. It works on plain folders; the Syncthing
// node in sync/node carries the files between workstations.
//
//	<data>/replica/out/               this node's segments, <n:020>.wseg
//	<data>/replica/in/<peer node id>/ each peer's segments
//	<data>/replica/quarantine/        segments refused here
//
// It talks to the database only through store's replica views
// (store.ReplicaReader, store.ReplicaWriter): it is system work, recorded in
// the audit chain as "replica.apply" and "replica.quarantine".
package sync
