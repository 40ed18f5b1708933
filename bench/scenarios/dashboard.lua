-- The dashboard's four reads in turn, for bench/run.sh: GET /v1/insights/fleet, /portfolio,
-- /collections and /utilisation (the last two over FROM..TO, local dates YYYY-MM-DD), as an
-- operator's console loads them. Run once per organization (1,000 and 100,000 packs) to compare
-- latencies.
--
--   wrk ... -H 'Authorization: Bearer KEY' -s bench/scenarios/dashboard.lua URL -- FROM TO
--
-- Answers other than 200 are counted (BENCH_STATUS not_200=).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "../wrk_report.lua")  -- done(): the exact BENCH summary line
local fleet = dofile(here .. "../telemetry/fleet.lua")
fleet.count_statuses()

local paths = {}
local next_path = 0

function init(args)
  local range = string.format("?from=%s&to=%s", assert(args[1], "FROM is required"),
                              assert(args[2], "TO is required"))
  paths = { "/v1/insights/fleet", "/v1/insights/portfolio", "/v1/insights/collections" .. range,
            "/v1/insights/utilisation" .. range }
end

function request()
  next_path = next_path % #paths + 1
  return wrk.format("GET", paths[next_path])
end
