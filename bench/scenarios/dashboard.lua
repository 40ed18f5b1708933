-- The dashboard's four reads in turn, for bench/run.sh: GET /v1/insights/fleet, /portfolio,
-- /collections and /utilisation (the last two over their default date range), as an operator's
-- console loads them. Run once per organization (1,000 and 100,000 packs) to compare latencies.
--
--   wrk ... -H 'Authorization: Bearer KEY' -s bench/scenarios/dashboard.lua URL
--
-- Answers other than 200 are counted (BENCH_STATUS not_200=).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "../wrk_report.lua")  -- done(): the exact BENCH summary line
local fleet = dofile(here .. "../telemetry/fleet.lua")
fleet.count_statuses()

local PATHS = { "/v1/insights/fleet", "/v1/insights/portfolio", "/v1/insights/collections",
                "/v1/insights/utilisation" }
local next_path = 0

function request()
  next_path = next_path % #PATHS + 1
  return wrk.format("GET", PATHS[next_path])
end
