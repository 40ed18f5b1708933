-- What the telemetry benchmark's wrk scripts share (bench/telemetry/ingest.lua, history.lua):
-- the pack ids run.sh registered, RFC 3339 times, and a count of answers other than 200 that
-- bench/wrk_report.lua's summary line cannot tell (wrk counts only statuses >= 400 as errors, and
-- a 207 means readings were refused).
local fleet = {}

-- The non-empty lines of a file: one pack id per line.
function fleet.read_lines(path)
  local lines = {}
  for line in assert(io.open(path)):lines() do
    if line ~= "" then lines[#lines + 1] = line end
  end
  assert(#lines > 0, path .. " lists no packs")
  return lines
end

-- "2026-11-26T08:30:00" + ".250Z": the seconds' text is computed once per second, the
-- milliseconds' once per run, so a batch of 1,000 times costs two table lookups per reading.
local second_text = { second = nil, text = nil }
local millis_text = {}
for ms = 0, 999 do millis_text[ms] = string.format(".%03dZ", ms) end

function fleet.time_parts(epoch_ms)
  local second = math.floor(epoch_ms / 1000)
  if second ~= second_text.second then
    second_text.second = second
    second_text.text = os.date("!%Y-%m-%dT%H:%M:%S", second)
  end
  return second_text.text, millis_text[epoch_ms - second * 1000]
end

function fleet.iso(epoch_ms)
  local seconds, millis = fleet.time_parts(epoch_ms)
  return seconds .. millis
end

-- Counts answers other than 200 per wrk thread, and prints the total after the BENCH line as
-- "BENCH_STATUS not_200=N". Call once at the top of a script, after loading wrk_report.lua.
function fleet.count_statuses()
  local threads = {}
  function setup(thread)
    threads[#threads + 1] = thread
    thread:set("thread_index", #threads)
  end
  not_200 = 0
  function response(status)
    if status ~= 200 then not_200 = not_200 + 1 end
  end
  local report = done
  function done(summary, latency, requests)
    report(summary, latency, requests)
    local total = 0
    for _, thread in ipairs(threads) do total = total + (thread:get("not_200") or 0) end
    io.write(string.format("BENCH_STATUS not_200=%d\n", total))
  end
end

return fleet
