// Package store is Ward's SQLCipher database: opening it with the key from the
// OS keyring (or the emergency kit), the embedded migrations, and the typed
// repositories that app uses inside one transaction at a time.
//
// store never hands out *sql.DB. Record reads and writes happen on a *Tx that
// app opens through its audited door; the audit entry for the work is appended
// to the chain inside the same transaction (see store/audit).
package store
