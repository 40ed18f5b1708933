#!/usr/bin/env python3
"""Payment -> unlock-command latency, as a pack sees it (bench/payments/run.sh).

For each PAYG contract still waiting for its first payment (its pack locked), one at a time: the
pack's gateway long-polls GET /v1/device/commands?wait=30 with its device credential, then the
operator posts the payment; the latency is from just before the POST to the moment the long-poll
answers with the unlock command. It includes the payment request, the event chain (payment ->
contract -> access policy -> command) and the wake-up of the parked long-poll.

  unlock_latency.py BASE_URL API_KEY PACKS_FILE
PACKS_FILE: one "contract_id device_credential" per line. Prints one line:
  LATENCY samples=N p50_us= p90_us= p99_us= max_us= errors=
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse


def percentile(sorted_values, p):
    if not sorted_values:
        return 0
    index = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


def main():
    base, api_key, packs_file = sys.argv[1], sys.argv[2], sys.argv[3]
    url = urllib.parse.urlparse(base)
    pairs = [line.split() for line in open(packs_file) if line.strip()]
    latencies, errors = [], 0
    operator = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    for n, (contract, credential) in enumerate(pairs):
        result = {}

        def poll():
            pack = http.client.HTTPConnection(url.hostname, url.port, timeout=40)
            pack.request("GET", "/v1/device/commands?wait=30",
                         headers={"Authorization": "Bearer " + credential})
            response = pack.getresponse()
            body = response.read()
            result["at"] = time.monotonic_ns()
            result["status"] = response.status
            result["body"] = body
            pack.close()

        poller = threading.Thread(target=poll)
        poller.start()
        time.sleep(0.02)  # the fetch is parked before the payment arrives
        started = time.monotonic_ns()
        operator.request("POST", "/v1/payments",
                         body=json.dumps({"contract_id": contract, "amount": 1000,
                                          "currency": "KES", "method": "cash"}),
                         headers={"Authorization": "Bearer " + api_key,
                                  "Content-Type": "application/json",
                                  "Idempotency-Key": "latency-%d-%d" % (n, started)})
        paid = operator.getresponse()
        paid.read()
        poller.join()
        items = []
        if result.get("status") == 200:
            items = json.loads(result["body"]).get("items", [])
        if paid.status != 201 or not items or items[0].get("command") != "unlock":
            errors += 1
            continue
        latencies.append((result["at"] - started) // 1000)
    latencies.sort()
    print("LATENCY samples=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d errors=%d" % (
        len(latencies), percentile(latencies, 50), percentile(latencies, 90),
        percentile(latencies, 99), latencies[-1] if latencies else 0, errors))


if __name__ == "__main__":
    main()
