#!/usr/bin/env python3
"""Sets up the payments benchmark's organization through the API (bench/payments/run.sh):
an organization, a PAYG product (30.00 a day), and CONTRACTS PAYG contracts, each with its own
customer and an in-stock pack (registered with one import). The first LATENCY of them keep no
credit (their packs wait locked for a first payment) and get device credentials; the rest are
the throughput run's targets.

  setup.py BASE_URL PLATFORM_TOKEN CONTRACTS LATENCY OUTDIR [SLUG]
Writes OUTDIR/api_key, OUTDIR/contracts.txt (throughput contract ids), OUTDIR/latency.txt
("contract_id credential" lines) and OUTDIR/packs.txt (every pack id). SLUG (default "bench")
names the organization, so that one server can hold several (bench/run.sh); its packs' serials
start with "PAY-" for "bench", else with the slug in capitals.
"""
import http.client
import json
import os
import sys
import urllib.parse


class Api:
    def __init__(self, base):
        url = urllib.parse.urlparse(base)
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        self.key = ""

    def call(self, method, path, body=None, token=None, expect=(200, 201), headers=None):
        all_headers = {"Authorization": "Bearer " + (token or self.key)}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        self.connection.request(method, path, body=None if body is None else json.dumps(body),
                                headers=all_headers)
        response = self.connection.getresponse()
        text = response.read()
        if response.status not in expect:
            sys.exit("setup.py: %s %s answered %d: %s" % (method, path, response.status, text[:300]))
        return json.loads(text) if text else {}


def main():
    base, platform_token, count, latency, outdir = (sys.argv[1], sys.argv[2], int(sys.argv[3]),
                                                    int(sys.argv[4]), sys.argv[5])
    slug = sys.argv[6] if len(sys.argv) > 6 else "bench"
    serial = "PAY-%06d" if slug == "bench" else slug.upper() + "-%06d"
    api = Api(base)
    created = api.call("POST", "/v1/platform/organizations", token=platform_token,
                       body={"name": "Bench" if slug == "bench" else "Bench " + slug, "slug": slug,
                             "currency": "KES", "time_zone": "Africa/Nairobi",
                             "owner_email": "owner@%s.example" % slug})
    api.key = created["api_key"]
    product = api.call("POST", "/v1/products",
                       body={"name": "Daily", "kind": "payg", "terms": {"price_per_day": 3000}})
    packs = api.call("POST", "/v1/devices:import",
                     body=[{"serial": serial % i, "model": "E-48", "chemistry": "LFP",
                            "capacity_wh": 2000, "nominal_voltage_mv": 48000, "state": "in_stock"}
                           for i in range(count)])
    pack_ids = [item["id"] for item in packs["devices"]]
    throughput, latency_lines = [], []
    for i, pack in enumerate(pack_ids):
        customer = api.call("POST", "/v1/customers",
                            body={"name": "Customer %d" % i, "phone": "+2547%08d" % i})
        contract = api.call("POST", "/v1/contracts",
                            body={"customer_id": customer["id"], "device_id": pack,
                                  "product_id": product["id"]},
                            headers={"Idempotency-Key": "setup-%d" % i})
        if i < latency:
            credential = api.call("POST", "/v1/devices/%s/credential" % pack)
            latency_lines.append("%s %s" % (contract["id"], credential["credential"]))
        else:
            throughput.append(contract["id"])
    with open(os.path.join(outdir, "api_key"), "w") as f:
        f.write(api.key)
    with open(os.path.join(outdir, "contracts.txt"), "w") as f:
        f.write("\n".join(throughput) + "\n")
    with open(os.path.join(outdir, "latency.txt"), "w") as f:
        f.write("\n".join(latency_lines) + "\n")
    with open(os.path.join(outdir, "packs.txt"), "w") as f:
        f.write("".join(pack + "\n" for pack in pack_ids))


if __name__ == "__main__":
    main()
