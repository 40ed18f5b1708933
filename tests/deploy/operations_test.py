#!/usr/bin/env python3
"""What running cellfleet in a container or on ECS relies on, tried on the real binary.

Usage: operations_test.py CELLFLEET_BINARY

  - configuration from the environment alone (no file, no flags) is enough to serve;
  - `cellfleet healthcheck` exits 0 against a serving server and 1 when nothing answers;
  - after SIGTERM, /readyz answers 503 while requests are still served (server.shutdown_delay_ms),
    then the server drains and exits 0;
  - `cellfleet backup PATH` copies the database while a client keeps writing through the API:
    the copy passes PRAGMA integrity_check and holds the data; an existing PATH is refused;
  - SQLite: while the start-up migration cannot finish (another process holds the write lock),
    the server does not listen, so /readyz is never 200 before the schema is current;
  - DynamoDB, against a stand-in endpoint on loopback that answers only what a table in each
    state answers: /readyz is 503 while the store is unreachable, while the tables do not exist
    (migrate has not run) and while one is still CREATING; 200 once all are ACTIVE (or UPDATING);
  - `cellfleet migrate` on DynamoDB tables that already exist only reads (DescribeTable,
    DescribeTimeToLive, DescribeContinuousBackups), so it succeeds under the ECS task role, which
    has no CreateTable or Update* (deploy/cloudformation.yaml); concurrent runs all succeed.
"""

import http.server
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

BINARY = None
TOKEN = "operations-test-platform-admin-token-0123456789"


class Server:
    """`cellfleet serve` configured by environment variables only, on a free loopback port."""

    def __init__(self, data_dir, start_timeout=20, **env):
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CELLFLEET_")}
        self.env.update({"CELLFLEET_SERVER_LISTEN": "127.0.0.1:0",
                         "CELLFLEET_STORAGE_DATA_DIR": data_dir,
                         "CELLFLEET_PLATFORM_ADMIN_TOKEN": TOKEN,
                         "CELLFLEET_LOG_LEVEL": "info"})
        self.env.update(env)
        self.proc = subprocess.Popen([BINARY, "serve"], env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.port = None
        deadline = time.time() + start_timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if '"listening"' in line:
                self.port = json.loads(line)["port"]
                break
        if self.port is None:
            self.proc.kill()
            raise AssertionError("cellfleet serve did not start:\n" + "".join(self.lines))
        threading.Thread(target=self._drain_output, daemon=True).start()

    def _drain_output(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def request(self, method, path, token=None, body=None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = "Bearer " + token
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                return res.status, res.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def run(args, env=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CELLFLEET_")}
    full_env.update(env or {})
    return subprocess.run([BINARY] + args, env=full_env, capture_output=True, text=True,
                          timeout=60)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def test_environment_only_and_healthcheck(tmp):
    server = Server(os.path.join(tmp, "data"))
    try:
        check(server.request("GET", "/healthz")[0] == 200, "/healthz")
        check(server.request("GET", "/readyz")[0] == 200, "/readyz")
        listen = f"127.0.0.1:{server.port}"
        r = run(["healthcheck"], {"CELLFLEET_SERVER_LISTEN": listen})
        check(r.returncode == 0, f"healthcheck (address from the environment): {r.stdout}{r.stderr}")
        r = run(["healthcheck", "--listen", f"0.0.0.0:{server.port}"])
        check(r.returncode == 0, f"healthcheck of a wildcard address: {r.stdout}{r.stderr}")
        r = run(["healthcheck", "--listen", listen, "--path", "/nope"])
        check(r.returncode == 1 and "404" in r.stderr, f"healthcheck of a 404: {r.stderr}")
    finally:
        check(server.stop() == 0, "serve did not exit 0 on SIGTERM")
    r = run(["healthcheck", "--listen", listen, "--timeout-ms", "1000"])
    check(r.returncode == 1, "healthcheck must fail when nothing listens")
    print("ok: environment-only configuration; healthcheck 0 when serving, 1 when not")


def test_readyz_during_shutdown(tmp):
    server = Server(os.path.join(tmp, "data"), CELLFLEET_SERVER_SHUTDOWN_DELAY_MS="3000")
    check(server.request("GET", "/readyz")[0] == 200, "/readyz before SIGTERM")
    started = time.time()
    server.proc.send_signal(signal.SIGTERM)
    status = None
    while time.time() - started < 2:
        status = server.request("GET", "/readyz")[0]
        if status == 503:
            break
        time.sleep(0.05)
    check(status == 503, f"/readyz after SIGTERM answered {status}, expected 503")
    check(server.request("GET", "/healthz")[0] == 200, "/healthz must still answer while draining")
    code = server.proc.wait(timeout=20)
    elapsed = time.time() - started
    check(code == 0, f"serve exited {code} after SIGTERM")
    check(elapsed >= 2.5, f"serve stopped after {elapsed:.1f} s, before shutdown_delay_ms")
    print(f"ok: /readyz 503 during the shutdown delay, exit 0 after {elapsed:.1f} s")


def test_backup_while_writing(tmp):
    data = os.path.join(tmp, "data")
    server = Server(data)
    stop = threading.Event()
    written = []
    errors = []
    try:
        status, body = server.request("POST", "/v1/platform/organizations", TOKEN, {
            "name": "Backup Rentals", "slug": "backup", "currency": "KES",
            "time_zone": "Africa/Nairobi", "owner_email": "owner@backup.example"})
        check(status == 201, f"create organization: {status} {body}")
        key = json.loads(body)["api_key"]

        def writer():
            n = 0
            while not stop.is_set():
                n += 1
                status, body = server.request("POST", "/v1/devices", key, {
                    "serial": f"BK-{n:05d}", "model": "E-48", "chemistry": "LFP",
                    "capacity_wh": 2000, "nominal_voltage_mv": 48000})
                if status == 201:
                    written.append(n)
                else:
                    errors.append(f"{status} {body}")
                    return

        thread = threading.Thread(target=writer)
        thread.start()
        while len(written) < 20 and thread.is_alive():
            time.sleep(0.05)
        copies = []
        for i in range(3):  # several copies, each taken mid-write
            path = os.path.join(tmp, "backups", f"copy-{i}.db")
            r = run(["backup", path], {"CELLFLEET_STORAGE_DATA_DIR": data})
            check(r.returncode == 0, f"backup: {r.stdout}{r.stderr}")
            copies.append((path, len(written)))
        stop.set()
        thread.join()
        check(not errors, f"writes failed during the backups: {errors[:3]}")
        for path, _ in copies:
            check(not os.path.exists(path + "-wal"), f"{path} has a -wal beside it")
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            check(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok",
                  f"{path}: integrity_check")
            items = db.execute("SELECT COUNT(*) FROM entities").fetchone()[0]
            check(items > 0, f"{path}: no items")
            db.close()
        r = run(["backup", copies[0][0]], {"CELLFLEET_STORAGE_DATA_DIR": data})
        check(r.returncode != 0 and "exists" in r.stderr, "backup must refuse an existing file")
    finally:
        stop.set()
        check(server.stop() == 0, "serve did not exit 0 on SIGTERM")
    # The copy restores: a server on it finds the organization.
    restored = os.path.join(tmp, "restored")
    os.makedirs(restored)
    os.replace(copies[-1][0], os.path.join(restored, "cellfleet.db"))
    server = Server(restored)
    try:
        status, body = server.request("GET", "/v1/devices?limit=5", key)
        check(status == 200 and json.loads(body)["items"], f"restored server: {status} {body}")
    finally:
        server.stop()
    print(f"ok: 3 backups taken while {len(written)} batteries were written; integrity ok; "
          "restored copy serves")


def test_sqlite_not_ready_before_migrations(tmp):
    """The start-up migration holds the server back: no /readyz 200 before it completes."""
    data = os.path.join(tmp, "data")
    r = run(["migrate"], {"CELLFLEET_STORAGE_DATA_DIR": data})
    check(r.returncode == 0, f"migrate: {r.stdout}{r.stderr}")
    # Another process holds the write lock, as a long migration would: the server's migration
    # (BEGIN IMMEDIATE, even when there is nothing to apply) waits for it.
    lock = sqlite3.connect(os.path.join(data, "cellfleet.db"), isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    result = {}

    def start():
        try:
            result["server"] = Server(data, start_timeout=60,
                                      CELLFLEET_SQLITE_BUSY_TIMEOUT_MS="60000")
        except AssertionError as e:
            result["error"] = e

    starter = threading.Thread(target=start)
    starter.start()
    try:
        time.sleep(2)
        check("server" not in result and "error" not in result,
              f"serve got past its migration while the write lock was held: {result}")
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    starter.join(timeout=70)
    check("server" in result, f"serve did not start once the lock was released: {result}")
    server = result["server"]
    try:
        check(server.request("GET", "/readyz")[0] == 200, "/readyz after the migration")
    finally:
        check(server.stop() == 0, "serve did not exit 0 on SIGTERM")
    print("ok: no listener, so no /readyz 200, while the start-up migration waits; ready after")


class FakeDynamoDb:
    """A stand-in DynamoDB endpoint on loopback. tables maps physical name -> TableStatus; a table
    not in it does not exist. What the ECS task role may not do (CreateTable, UpdateTimeToLive,
    UpdateContinuousBackups) is AccessDeniedException, as on AWS. Item operations find nothing."""

    def __init__(self):
        self.tables = {}
        self.calls = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                operation = self.headers.get("X-Amz-Target", "").split(".")[-1]
                fake.calls.append(operation)
                status, answer = fake.answer(operation, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @staticmethod
    def error(kind, message):
        return 400, {"__type": f"com.amazonaws.dynamodb.v20120810#{kind}", "message": message}

    def answer(self, operation, body):
        name = body.get("TableName", "")
        if operation in ("CreateTable", "UpdateTimeToLive", "UpdateContinuousBackups"):
            return self.error("AccessDeniedException", f"not authorized to perform {operation}")
        if operation in ("DescribeTable", "DescribeTimeToLive", "DescribeContinuousBackups"):
            if name not in self.tables:
                return self.error("ResourceNotFoundException", f"Requested resource not found: {name}")
        if operation == "DescribeTable":
            return 200, {"Table": {"TableName": name, "TableStatus": self.tables[name]}}
        if operation == "DescribeTimeToLive":
            return 200, {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED",
                                                   "AttributeName": "expires_at"}}
        if operation == "DescribeContinuousBackups":
            return 200, {"ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "ENABLED"}}}
        if operation == "Query":
            return 200, {"Items": [], "Count": 0, "ScannedCount": 0}
        if operation == "BatchGetItem":
            return 200, {"Responses": {}, "UnprocessedKeys": {}}
        if operation == "BatchWriteItem":
            return 200, {"UnprocessedItems": {}}
        return 200, {}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def dynamodb_env(endpoint, prefix):
    return {"CELLFLEET_STORAGE_BACKEND": "dynamodb", "CELLFLEET_DYNAMODB_ENDPOINT": endpoint,
            "CELLFLEET_DYNAMODB_REGION": "eu-west-1", "CELLFLEET_DYNAMODB_TABLE_PREFIX": prefix,
            "AWS_ACCESS_KEY_ID": "operations-test", "AWS_SECRET_ACCESS_KEY": "operations-test"}


def test_dynamodb_readiness_and_migrate_under_task_role(tmp):
    prefix = "ops-"
    r = run(["schema", "--dynamodb", "--table-prefix", prefix])
    check(r.returncode == 0, f"schema --dynamodb: {r.stderr}")
    names = [t["TableName"] for t in json.loads(r.stdout)]
    check(len(names) >= 2, f"expected several tables: {names}")

    # Unreachable: nothing listens on the endpoint's port.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    server = Server(os.path.join(tmp, "unreachable"), **dynamodb_env(dead, prefix))
    try:
        check(server.request("GET", "/healthz")[0] == 200, "/healthz with the store unreachable")
        status, body = server.request("GET", "/readyz")
        check(status == 503 and "not reachable" in body,
              f"/readyz with the store unreachable: {status} {body}")
    finally:
        check(server.stop() == 0, "serve did not exit 0 on SIGTERM")

    fake = FakeDynamoDb()
    try:
        server = Server(os.path.join(tmp, "fake"), **dynamodb_env(fake.endpoint, prefix))
        try:
            status, body = server.request("GET", "/readyz")
            check(status == 503, f"/readyz before the tables exist: {status} {body}")
            fake.tables = {names[0]: "ACTIVE", names[1]: "CREATING"}  # a migrate under way
            for n in names[2:]:
                fake.tables[n] = "ACTIVE"
            status, body = server.request("GET", "/readyz")
            check(status == 503, f"/readyz while {names[1]} is CREATING: {status} {body}")
            fake.tables[names[1]] = "UPDATING"  # e.g. an index being added: still serves
            status, body = server.request("GET", "/readyz")
            check(status == 200, f"/readyz with a table UPDATING: {status} {body}")
            fake.tables = {n: "ACTIVE" for n in names}
            status, body = server.request("GET", "/readyz")
            check(status == 200, f"/readyz once every table is ACTIVE: {status} {body}")
        finally:
            check(server.stop() == 0, "serve did not exit 0 on SIGTERM")

        # migrate as the task runs it: the tables are CloudFormation's, the role only reads.
        fake.calls.clear()
        results = [None] * 3
        env = dynamodb_env(fake.endpoint, prefix)

        def migrate(i):
            results[i] = run(["migrate"], env)

        threads = [threading.Thread(target=migrate, args=(i,)) for i in range(len(results))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results:
            check(r.returncode == 0, f"migrate on existing tables under the task role: "
                                     f"{r.stdout}{r.stderr}")
        denied = sorted({c for c in fake.calls if c.startswith(("Create", "Update"))})
        check(not denied, f"migrate called {denied} on tables that exist")
    finally:
        fake.close()
    print(f"ok: DynamoDB /readyz 503 unreachable, missing, CREATING; 200 ACTIVE/UPDATING; "
          f"{len(results)} concurrent migrates on existing tables only read")


def main():
    global BINARY
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    BINARY = sys.argv[1]
    for test in (test_environment_only_and_healthcheck, test_readyz_during_shutdown,
                 test_backup_while_writing, test_sqlite_not_ready_before_migrations,
                 test_dynamodb_readiness_and_migrate_under_task_role):
        with tempfile.TemporaryDirectory(prefix="cellfleet-ops-") as tmp:
            test(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
