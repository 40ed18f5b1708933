-- wrk script for bench/payments/run.sh: POST /v1/payments with a fresh Idempotency-Key each
-- request, cycling over the contracts listed (one id per line) in the file named by the first
-- script argument. Amounts are small PAYG top-ups, so every payment is applied (credit extended)
-- and none closes a contract.
local contracts = {}
local key, thread_id, counter = "", 0, 0

function init(args)
  for line in io.lines(args[1]) do contracts[#contracts + 1] = line end
  key = args[2]
  thread_id = math.random(1, 1000000000)
end

function request()
  counter = counter + 1
  local contract = contracts[(counter % #contracts) + 1]
  local body = string.format(
    '{"contract_id":"%s","amount":%d,"currency":"KES","method":"mobile_money"}',
    contract, 100 + counter % 50)
  return wrk.format("POST", "/v1/payments", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
    ["Idempotency-Key"] = string.format("bench-%d-%d", thread_id, counter),
  }, body)
end

local not201 = 0
function response(status, headers, body)
  if status ~= 201 then not201 = not201 + 1 end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
  io.write(string.format("BENCH_STATUS not201=%d\n", not201))
end
