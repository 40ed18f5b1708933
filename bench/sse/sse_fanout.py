#!/usr/bin/env python3
"""SSE fan-out client of bench/sse/run.sh: CLIENTS connections to GET /v1/events/stream of one
organization, read by one selector loop, while a publisher thread registers packs
(POST /v1/devices, one device.registered event each) at RATE per second for DURATION seconds.
Then it waits (at most 15 s) for every client to have every published event.

  sse_fanout.py BASE_URL API_KEY CLIENTS RATE DURATION

Latency: receipt time minus the time in the event's id (a ULID stamped as the event is added to
the batch, just before the commit), in microseconds. Prints one line
  RESULT {json}
with published, per-client delivered (min/mean/max), delivered/s, latency percentiles, drops
(connections the server closed, events a client missed, duplicates or out-of-order ids).
"""
import http.client
import json
import selectors
import socket
import sys
import threading
import time
import urllib.parse

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def id_millis(event_id):
    """The 48-bit millisecond time of an evt_ ULID: its first 10 Crockford digits."""
    value = 0
    for c in event_id[4:14]:
        value = value * 32 + ALPHABET.index(c)
    return value


class Client:
    def __init__(self, host, port, key):
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(("GET /v1/events/stream HTTP/1.1\r\nHost: bench\r\n"
                           "Accept: text/event-stream\r\nAuthorization: Bearer %s\r\n\r\n"
                           % key).encode())
        self.buffer = b""
        self.head_done = False
        self.status = 0
        self.closed = False
        self.ids = []
        self.order_errors = 0

    def feed(self, data, now_us, latencies):
        self.buffer += data
        if not self.head_done:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self.status = int(self.buffer[9:12])
            self.buffer = self.buffer[end + 4:]
            self.head_done = True
        while True:
            end = self.buffer.find(b"\n\n")
            if end < 0:
                return
            block, self.buffer = self.buffer[:end], self.buffer[end + 2:]
            if not block.startswith(b"id: "):
                continue  # a comment: ": stream open", ": heartbeat"
            event_id = block[4:block.index(b"\n")].decode()
            if self.ids and event_id <= self.ids[-1]:
                self.order_errors += 1
            self.ids.append(event_id)
            latencies.append(now_us - id_millis(event_id) * 1000)


def publisher(host, port, key, rate, duration, published, errors):
    connection = http.client.HTTPConnection(host, port, timeout=30)
    started = time.monotonic()
    n = 0
    while True:
        due = started + n / rate
        if due - started >= duration:
            break
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        body = json.dumps({"serial": "SSE-%07d" % n, "model": "E-48", "chemistry": "LFP",
                           "capacity_wh": 2000, "nominal_voltage_mv": 48000})
        connection.request("POST", "/v1/devices", body=body,
                           headers={"Authorization": "Bearer " + key,
                                    "Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        if response.status == 201:
            published[0] += 1
        else:
            errors[0] += 1
        n += 1


def percentile(values, p):
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100.0 * len(ordered)))]


def main():
    base, key, count, rate, duration = (sys.argv[1], sys.argv[2], int(sys.argv[3]),
                                        float(sys.argv[4]), float(sys.argv[5]))
    url = urllib.parse.urlparse(base)
    selector = selectors.DefaultSelector()
    clients = []
    for _ in range(count):
        client = Client(url.hostname, url.port, key)
        client.sock.setblocking(False)
        selector.register(client.sock, selectors.EVENT_READ, client)
        clients.append(client)
    latencies = []

    def pump(seconds):
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            for selected, _ in selector.select(timeout=min(left, 0.2)):
                client = selected.data
                try:
                    data = client.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                now_us = int(time.time() * 1e6)
                if not data:
                    client.closed = True
                    selector.unregister(client.sock)
                    continue
                client.feed(data, now_us, latencies)

    # Every stream open (headers read) before the first event.
    for _ in range(100):
        pump(0.1)
        if all(c.head_done for c in clients):
            break
    not_200 = sum(1 for c in clients if c.status != 200)
    published, errors = [0], [0]
    thread = threading.Thread(target=publisher,
                              args=(url.hostname, url.port, key, rate, duration, published, errors))
    started = time.monotonic()
    thread.start()
    while thread.is_alive():
        pump(0.2)
    publish_seconds = time.monotonic() - started
    # Let every client catch up with what was published.
    for _ in range(75):
        if all(len(c.ids) >= published[0] or c.closed for c in clients):
            break
        pump(0.2)
    receive_seconds = time.monotonic() - started

    delivered = [len(c.ids) for c in clients]
    missed = sum(max(0, published[0] - len(set(c.ids))) for c in clients)
    duplicates = sum(len(c.ids) - len(set(c.ids)) for c in clients)
    result = {
        "clients": count,
        "not_200": not_200,
        "rate_per_s": rate,
        "published": published[0],
        "publish_errors": errors[0],
        "publish_seconds": round(publish_seconds, 2),
        "delivered_total": sum(delivered),
        "delivered_per_client": {"min": min(delivered), "max": max(delivered),
                                 "mean": round(sum(delivered) / len(delivered), 1)},
        "delivered_per_s_total": round(sum(delivered) / receive_seconds, 1),
        "delivered_per_s_per_client": round(sum(delivered) / receive_seconds / count, 2),
        "latency_us": {"samples": len(latencies), "p50": percentile(latencies, 50),
                       "p90": percentile(latencies, 90), "p99": percentile(latencies, 99),
                       "max": max(latencies) if latencies else 0},
        "dropped_connections": sum(1 for c in clients if c.closed),
        "missed_events": missed,
        "duplicates": duplicates,
        "out_of_order": sum(c.order_errors for c in clients),
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
