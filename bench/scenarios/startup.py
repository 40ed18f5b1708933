#!/usr/bin/env python3
"""Start-up time and idle memory of cellfleet on an empty store, for bench/run.sh.

RUNS times: starts `cellfleet serve` on CPU 0 with a fresh, empty SQLite data directory under
WORKDIR, polls GET /readyz as fast as a loop can (a new connection each try, no sleep) until it
answers 200, waits IDLE seconds with no request, reads the server's VmRSS from /proc and stops it
(SIGTERM, then SIGKILL after 10 s). The time runs from just before the process is spawned to the
first 200, so it includes exec, configuration, opening and migrating the store and starting the
listener.

  startup.py CELLFLEET WORKDIR PLATFORM_TOKEN RUNS [IDLE]
Prints one "RUN ready_us= rss_kb=" line per run, then
  STARTUP runs= ready_median_us= ready_max_us= rss_median_kb= rss_max_kb=
"""
import os
import signal
import socket
import statistics
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ready(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def stop(server):
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main():
    binary, workdir, token, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    idle = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0
    # bench/run.sh stops us with SIGTERM on an interrupt: stop the server we started first.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = dict(os.environ, CELLFLEET_PLATFORM_ADMIN_TOKEN=token, CELLFLEET_LOG_LEVEL="warn",
               CELLFLEET_SERVER_DRAIN_TIMEOUT_MS="1000")
    readies, rsses = [], []
    for run in range(runs):
        port = free_port()
        data = os.path.join(workdir, "startup-%d" % run)
        log = open(os.path.join(workdir, "startup-%d.log" % run), "w")
        started = time.monotonic_ns()
        # taskset execs the server: the pid is the server's own.
        server = subprocess.Popen(["taskset", "-c", "0", binary, "serve", "--listen",
                                   "127.0.0.1:%d" % port, "--data-dir", data],
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = started + 10 * 10**9
            while not ready(port):
                if server.poll() is not None:
                    sys.exit("startup.py: the server exited at start-up (see %s)" % log.name)
                if time.monotonic_ns() > deadline:
                    sys.exit("startup.py: /readyz did not answer 200 within 10 s")
            ready_us = (time.monotonic_ns() - started) // 1000
            time.sleep(idle)
            rss = vm_rss_kb(server.pid)
        finally:
            stop(server)
            log.close()
        readies.append(ready_us)
        rsses.append(rss)
        print("RUN ready_us=%d rss_kb=%d" % (ready_us, rss), flush=True)
    print("STARTUP runs=%d ready_median_us=%d ready_max_us=%d rss_median_kb=%d rss_max_kb=%d" % (
        runs, statistics.median(readies), max(readies), statistics.median(rsses), max(rsses)))


if __name__ == "__main__":
    main()
