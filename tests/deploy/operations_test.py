#!/usr/bin/env python3
"""What running cellfleet in a container or on ECS relies on, tried on the real binary.

Usage: operations_test.py CELLFLEET_BINARY

  - configuration from the environment alone (no file, no flags) is enough to serve;
  - `cellfleet healthcheck` exits 0 against a serving server and 1 when nothing answers;
  - after SIGTERM, /readyz answers 503 while requests are still served (server.shutdown_delay_ms),
    then the server drains and exits 0;
  - `cellfleet backup PATH` copies the database while a client keeps writing through the API:
    the copy passes PRAGMA integrity_check and holds the data; an existing PATH is refused.
"""

import json
import os
import signal
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

    def __init__(self, data_dir, **env):
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
        deadline = time.time() + 20
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


def main():
    global BINARY
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    BINARY = sys.argv[1]
    for test in (test_environment_only_and_healthcheck, test_readyz_during_shutdown,
                 test_backup_while_writing):
        with tempfile.TemporaryDirectory(prefix="cellfleet-ops-") as tmp:
            test(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
