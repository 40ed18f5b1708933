-- POST /v1/telemetry with batches of fleet-scattered readings, for bench/telemetry/run.sh:
--
--   wrk ... -H 'Authorization: Bearer KEY' -s bench/telemetry/ingest.lua URL -- IDS BATCH START_MS
--
-- IDS is a file of pack ids, one a line; each reading names a pack drawn at random from it, so a
-- batch touches about BATCH different packs (the hard case: every row lands on another page of
-- the store). Reading times start at START_MS and advance 1 ms per reading, so no (pack, time)
-- repeats within a run and each reading is its pack's newest, as in a live fleet; run.sh gives
-- every run its own START_MS, hours in the past (inside the retention, never in the future).
--
-- Bodies are cheap to make: init() renders a pool of ~32,000 readings' JSON around their times,
-- and request() only splices the times in (two table lookups per reading) while rotating
-- through the pool.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "../wrk_report.lua")  -- done(): the exact BENCH summary line
local fleet = dofile(here .. "fleet.lua")
fleet.count_statuses()

local POOL_READINGS = 32000
local THREAD_SPAN_MS = 6 * 3600 * 1000  -- each wrk thread's own range of reading times

local pool = {}  -- pool[b][r] = { text before the time, text after it } of reading r of body b
local batch, next_ms, cursor = 0, 0, 1

-- One reading of a 48 V pack in a city fleet, every measurement the API knows. The state of health
-- is the pack's own (pack is its line in IDS), the same in every reading, as a battery's health
-- moves by a percent over months: a random one per reading would make nearly every reading a
-- device.soh_changed event, which no fleet sends.
local function reading_after_time(pack)
  return string.format(
    '","soc":%.1f,"voltage":%.3f,"current":%.3f,"temperature":%.1f,"cycles":%d,"soh":%.1f,' ..
    '"lat":%.5f,"lon":%.5f}',
    math.random(50, 1000) / 10, math.random(48000, 54600) / 1000,
    math.random(-30000, 30000) / 1000, math.random(150, 400) / 10, math.random(100, 900),
    85 + (pack * 37) % 150 / 10, -1.2921 + math.random(-1000, 1000) / 10000,
    36.8219 + math.random(-1000, 1000) / 10000)
end

function init(args)
  local ids = fleet.read_lines(args[1])
  batch = assert(tonumber(args[2]), "BATCH is required")
  local index = thread_index or 1
  next_ms = assert(tonumber(args[3]), "START_MS is required") + (index - 1) * THREAD_SPAN_MS
  math.randomseed(next_ms % 2147483647)
  for b = 1, math.max(1, math.ceil(POOL_READINGS / batch)) do
    local body = {}
    for r = 1, batch do
      local pack = math.random(#ids)
      local before = (r > 1 and "," or "") .. '{"device_id":"' .. ids[pack] .. '","at":"'
      body[r] = { before, reading_after_time(pack) }
    end
    pool[b] = body
  end
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local body = pool[cursor]
  cursor = cursor % #pool + 1
  local out, n = { '{"readings":[' }, 1
  for r = 1, batch do
    local seconds, millis = fleet.time_parts(next_ms)
    next_ms = next_ms + 1
    local reading = body[r]
    out[n + 1], out[n + 2], out[n + 3], out[n + 4] = reading[1], seconds, millis, reading[2]
    n = n + 4
  end
  out[n + 1] = "]}"
  return wrk.format("POST", "/v1/telemetry", nil, table.concat(out))
end
