-- 006: the replica's transport (issue 5, sync/node): where each
-- workstation's Syncthing device is, and this workstation's pairing invites,
-- join requests, transport settings and untrusted backup peers.

-- A node's Syncthing device (the SHA-256 of its TLS certificate, set when it
-- joins) and the addresses peers dial it at: space-separated tcp://host:port,
-- '' = find it by LAN discovery. They replicate with the node's row, so every
-- workstation learns how to reach a new one (last writer wins).
ALTER TABLE nodes ADD COLUMN device_id TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN addresses TEXT NOT NULL DEFAULT '';

-- Everything below is this workstation's own and never replicates.

-- Transport settings (sync.listen, sync.lan_discovery).
CREATE TABLE sync_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Invites made here (ward sync invite). The secret itself is never stored:
-- id and auth_key are one-way derivations of it (sync/node/invite.go).
CREATE TABLE sync_invites (
    id         TEXT PRIMARY KEY,
    auth_key   BLOB NOT NULL,
    created_by TEXT NOT NULL,              -- user id
    created_at INTEGER NOT NULL,           -- unix seconds
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

-- Workstations that asked to join with an invite made here, and what became
-- of them: waiting (for an administrator), approved (welcome sealed, being
-- sent), declined, done (the joiner installed the welcome), gone (it left).
CREATE TABLE sync_joins (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    invite_id    TEXT NOT NULL,
    node_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    public_key   BLOB NOT NULL,
    device_id    TEXT NOT NULL,
    x25519       BLOB NOT NULL,
    transcript   BLOB NOT NULL,
    addresses    TEXT NOT NULL,             -- space-separated, as the joiner said
    remote_addr  TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    state        TEXT NOT NULL,
    detail       TEXT NOT NULL DEFAULT '',
    decided_by   TEXT,
    decided_at   INTEGER,
    welcome      TEXT NOT NULL DEFAULT ''   -- path of the sealed welcome while approved
);

-- Untrusted plain Syncthing devices (a NAS) that keep encrypted copies of
-- this workstation's folders (ward sync backup-peer add).
CREATE TABLE sync_backup_peers (
    device_id TEXT PRIMARY KEY,
    addresses TEXT NOT NULL,
    added_at  INTEGER NOT NULL
);

-- What the running node (ward serve, or the window) last saw of its peers,
-- for `ward sync status` in another process: one row per peer device, and
-- one for this workstation (node_id = its own, address = where it listens).
CREATE TABLE sync_transport (
    device_id   TEXT PRIMARY KEY,
    node_id     TEXT NOT NULL DEFAULT '',   -- '' for a backup peer
    backup      INTEGER NOT NULL DEFAULT 0,
    connected   INTEGER NOT NULL DEFAULT 0,
    address     TEXT NOT NULL DEFAULT '',
    last_seen   INTEGER NOT NULL DEFAULT 0, -- unix seconds, 0 = never
    outbox_need INTEGER NOT NULL DEFAULT 0, -- bytes of this node's outbox the peer still lacks
    updated_at  INTEGER NOT NULL            -- unix seconds
);
