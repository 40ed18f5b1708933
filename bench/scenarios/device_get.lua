-- GET /v1/devices/{id} of a pack drawn at random, for bench/run.sh's point-read scenario:
--
--   wrk ... -H 'Authorization: Bearer KEY' -s bench/scenarios/device_get.lua URL -- IDS
--
-- IDS is a file of pack ids, one a line (the 100,000 packs run.sh registered). Answers other than
-- 200 are counted (BENCH_STATUS not_200=).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "../wrk_report.lua")  -- done(): the exact BENCH summary line
local fleet = dofile(here .. "../telemetry/fleet.lua")
fleet.count_statuses()

local paths = {}

function init(args)
  for i, id in ipairs(fleet.read_lines(args[1])) do paths[i] = "/v1/devices/" .. id end
  math.randomseed(os.time() + (thread_index or 1))
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
