-- The telemetry log (docs/decisions.md, "Telemetry written as a log"): put_many appends readings
-- here in arrival order, so a batch of 1,000 readings over 1,000 packs fills a few pages at the
-- end of one b-tree instead of dirtying a page of every pack's partition in "telemetry". A
-- background pass later moves the log into "telemetry" in (pk, sk) order, many readings of a pack
-- per page, and reads merge the rows not yet moved. seq is the arrival order: for one key the
-- highest seq holds the values last sent.
CREATE TABLE telemetry_log (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  pk         TEXT NOT NULL,
  sk         TEXT NOT NULL,
  version    INTEGER,
  expires_at INTEGER,
  body       BLOB NOT NULL
);

-- The pass under way, if any: every log row with seq <= through_seq and pk <= through_pk is in
-- "telemetry" already and is deleted when the pass ends (or when the store next opens, after a
-- crash). At most one row.
CREATE TABLE telemetry_log_pass (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  through_seq INTEGER NOT NULL,
  through_pk  TEXT NOT NULL
);
