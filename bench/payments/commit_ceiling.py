#!/usr/bin/env python3
"""The store-side ceiling of the payments benchmark: single-row SQLite transactions per second in
WAL mode with the server's synchronous setting, on the same disk, in the same run. A payment is
one such transaction (payment, reference claim, idempotency record and event in one write), and
applying it is another (contract, ledger entry, events, inbox marker).

  commit_ceiling.py DIR SECONDS [full|normal]   prints: CEILING commits_per_s=N
"""
import os
import sqlite3
import sys
import time


def main():
    directory, seconds = sys.argv[1], float(sys.argv[2])
    synchronous = sys.argv[3] if len(sys.argv) > 3 else "full"
    path = os.path.join(directory, "ceiling.db")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=" + synchronous)
    db.execute("CREATE TABLE t (pk TEXT, sk TEXT, body BLOB, PRIMARY KEY (pk, sk)) WITHOUT ROWID")
    body = os.urandom(400)
    n = 0
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    while time.monotonic() < deadline:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES (?, ?, ?)", ("org#bench#payment#%d" % n, "payment", body))
        db.execute("COMMIT")
        n += 1
    print("CEILING commits_per_s=%.0f" % (n / (time.monotonic() - started)))
    db.close()
    os.remove(path)


if __name__ == "__main__":
    main()
