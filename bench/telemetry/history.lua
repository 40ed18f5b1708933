-- GET /v1/devices/{id}/telemetry over a day of a pack's seeded history, for
-- bench/telemetry/run.sh:
--
--   wrk ... -H 'Authorization: Bearer KEY' -s bench/telemetry/history.lua URL -- IDS MODE FROM_MS TO_MS
--
-- IDS lists the seeded packs, one id a line; [FROM_MS, TO_MS) is the range where each has a
-- reading every interval. Each request asks a random pack for a random day of that range:
--   MODE raw     ?from=&to=&limit=100   the first page of raw readings
--   MODE bucket  ?from=&to=&bucket=1h   min/avg/max per hour, computed from every reading of the day
-- The requests are formatted once, in init(), and sent in rotation.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "../wrk_report.lua")  -- done(): the exact BENCH summary line
local fleet = dofile(here .. "fleet.lua")
fleet.count_statuses()

local POOL_REQUESTS = 4096
local MINUTE_MS, HOUR_MS, DAY_MS = 60000, 3600000, 86400000

local requests, cursor = {}, 1

function init(args)
  local ids = fleet.read_lines(args[1])
  local mode = args[2]
  local from_ms, to_ms = assert(tonumber(args[3])), assert(tonumber(args[4]))
  assert(mode == "raw" or mode == "bucket", "MODE is raw or bucket")
  local span = math.min(DAY_MS, to_ms - from_ms)  -- a short seeding (--quick) has less than a day
  local step = mode == "bucket" and HOUR_MS or MINUTE_MS
  local starts = math.max(1, math.floor((to_ms - span - from_ms) / step))
  math.randomseed((thread_index or 1) * 7919 + from_ms % 1000003)
  for i = 1, POOL_REQUESTS do
    -- Bucketed ranges start on a whole hour of the seeded range; raw ones on a minute.
    local first = math.ceil(from_ms / step) * step + (math.random(starts) - 1) * step
    local query = "?from=" .. fleet.iso(first) .. "&to=" .. fleet.iso(first + span)
    if mode == "bucket" then
      query = query .. "&bucket=1h"
    else
      query = query .. "&limit=100"
    end
    local path = "/v1/devices/" .. ids[math.random(#ids)] .. "/telemetry" .. query
    requests[i] = wrk.format("GET", path)
  end
end

function request()
  local r = requests[cursor]
  cursor = cursor % #requests + 1
  return r
end
