-- POST /v1/payments for bench/payments/run.sh:
--
--   wrk ... -s bench/payments/payments.lua URL -- CONTRACTS API_KEY
--
-- Each request pays a contract of CONTRACTS (a file of contract ids, one a line), in turn, with
-- a fresh Idempotency-Key: small PAYG top-ups, so every payment is applied (credit extended) and
-- none closes a contract. Answers other than 201 are counted (BENCH_STATUS not201=).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "../wrk_report.lua")  -- done(): the exact BENCH summary line

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_index", #threads)
end

local contracts = {}
local key, counter = "", 0

function init(args)
  for line in io.lines(args[1]) do contracts[#contracts + 1] = line end
  key = args[2]
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"contract_id":"%s","amount":%d,"currency":"KES","method":"mobile_money"}',
    contracts[(counter % #contracts) + 1], 100 + counter % 50)
  return wrk.format("POST", "/v1/payments", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
    ["Idempotency-Key"] = string.format("bench-%d-%d-%d", os.time(), thread_index, counter),
  }, body)
end

not201 = 0
function response(status)
  if status ~= 201 then not201 = not201 + 1 end
end

local report = done
function done(summary, latency, requests)
  report(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + (thread:get("not201") or 0) end
  io.write(string.format("BENCH_STATUS not201=%d\n", total))
end
