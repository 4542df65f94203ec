-- Momentum leaders: every few minutes, score every stock it has seen by its move since the open
-- (in percent; falling stocks score 0). The scores feed the planner's rebalancing, which
-- promotes the leaders to the realtime tiers and lets the laggards go.
--
-- params: every (seconds between two rankings, default 300)

local M = {}
local every = 300
local open, last = {}, {} -- per symbol: the first price of the day, and the latest

function M.init(params)
  every = tonumber(params.every) or every
  strata.every(every, "rank")
end

function M.on_trade(sym, t)
  if not open[sym] then open[sym] = t.price end
  last[sym] = t.price
end

M.on_snapshot = M.on_trade -- REST snapshots of the wide universe count too

function M.on_timer(name)
  if name ~= "rank" then return end
  for sym, p in pairs(last) do
    local move = (p / open[sym] - 1) * 100
    strata.update_performance_score(sym, move > 0 and move or 0)
  end
end

function M.on_day(date) -- a new market day (the calendar's): yesterday's state goes
  open, last = {}, {}
end

return M
