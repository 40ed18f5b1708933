-- The generic single table of schema.h. WITHOUT ROWID clusters rows by (pk, sk), so a partition
-- query reads one contiguous range, as on DynamoDB.
-- Key columns are TEXT compared with the BINARY collation (memcmp), which orders UTF-8 as
-- unsigned bytes, exactly as DynamoDB orders strings.
-- body holds the whole item as CBOR; the other columns are copies of the reserved attributes that
-- SQL needs to find, order, condition or expire rows.
CREATE TABLE entities (
  pk         TEXT NOT NULL,
  sk         TEXT NOT NULL,
  gsi1pk     TEXT,
  gsi1sk     TEXT,
  gsi2pk     TEXT,
  gsi2sk     TEXT,
  version    INTEGER,
  expires_at INTEGER,
  body       BLOB NOT NULL,
  PRIMARY KEY (pk, sk)
) WITHOUT ROWID;

-- Sparse indexes: only rows that carry both keys of an index are in it. pk, sk break ties on
-- the index sort key so pages have a stable order.
CREATE INDEX entities_gsi1 ON entities (gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX entities_gsi2 ON entities (gsi2pk, gsi2sk, pk, sk) WHERE gsi2pk IS NOT NULL;

-- Lets the TTL purge find expired rows without scanning the table.
CREATE INDEX entities_ttl ON entities (expires_at) WHERE expires_at IS NOT NULL;
