-- The device list with a filter and pagination, for bench/run.sh: GET /v1/devices?state=S&limit=N
-- for each state in turn, and the pages after it by their next_cursor, as a console scrolling a
-- filtered list would: after each page the walk goes on with probability (PAGES - 1) / PAGES, so
-- walks are PAGES pages long on average.
--
--   wrk ... -H 'Authorization: Bearer KEY' -s bench/scenarios/device_list.lua URL -- LIMIT PAGES
--
-- wrk gives request() no connection, so the cursors responses bring back wait in one queue per
-- thread (with the state, read from the page's devices) and the next request takes the oldest.
-- BENCH_STATUS counts answers other than 200.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "../wrk_report.lua")  -- done(): the exact BENCH summary line
local fleet = dofile(here .. "../telemetry/fleet.lua")
fleet.count_statuses()

local STATES = { "in_stock", "registered", "deployed" }
local limit, pages = 50, 5
local queue, head, tail = {}, 1, 0  -- { state, cursor } of the walks going on
local next_state = 0

function init(args)
  limit = tonumber(args[1]) or limit
  pages = tonumber(args[2]) or pages
  math.randomseed(os.time() + (thread_index or 1))
end

local function escape(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  local state, cursor
  if head <= tail then
    state, cursor = queue[head][1], queue[head][2]
    queue[head] = nil
    head = head + 1
  else
    next_state = next_state % #STATES + 1
    state = STATES[next_state]
  end
  local path = string.format("/v1/devices?state=%s&limit=%d", state, limit)
  if cursor then path = path .. "&cursor=" .. escape(cursor) end
  return wrk.format("GET", path)
end

local count_status = response
function response(status, headers, body)
  count_status(status, headers, body)
  if status ~= 200 or math.random(pages) == 1 then return end
  local cursor = body:match('"next_cursor"%s*:%s*"([^"]+)"')
  local state = body:match('"state"%s*:%s*"([%w_]+)"')
  if cursor and state then
    tail = tail + 1
    queue[tail] = { state, cursor }
  end
end
