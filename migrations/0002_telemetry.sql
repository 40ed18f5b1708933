-- Device telemetry: one row per (device, reading time), kept apart from "entities" so the
-- readings' high write rate and their time-to-live purge never touch the operational items'
-- pages and indexes. Same row shape as entities, without secondary indexes: history is read by
-- partition (one device) and sort-key range (time) only.
CREATE TABLE telemetry (
  pk         TEXT NOT NULL,
  sk         TEXT NOT NULL,
  version    INTEGER,
  expires_at INTEGER,
  body       BLOB NOT NULL,
  PRIMARY KEY (pk, sk)
) WITHOUT ROWID;

CREATE INDEX telemetry_ttl ON telemetry (expires_at) WHERE expires_at IS NOT NULL;
