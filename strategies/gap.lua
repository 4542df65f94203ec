-- Gap trading: at the open, a stock that opens 3% or more away from yesterday's close is
-- worth watching closely. Signal it (buy for a gap up, sell for a gap down, strength = the gap
-- in percent) and keep it CRITICAL (tier 1: trades and orderbook) for the rest of the session.
--
-- params: threshold (fraction, default 0.03)

local M = {}
local threshold = 0.03
local seen = {} -- symbols whose opening print was looked at

function M.init(params)
  threshold = tonumber(params.threshold) or threshold
end

function M.on_trade(sym, t)
  if seen[sym] or t.prev_close <= 0 or t.open <= 0 then return end
  seen[sym] = true -- the day's opening print: from a trade, or from a REST snapshot
  local gap = t.open / t.prev_close - 1
  if math.abs(gap) < threshold then return end
  strata.signal{symbol = sym, side = gap > 0 and "buy" or "sell", strength = math.abs(gap) * 100,
                reason = string.format("opening gap %+.1f%%", gap * 100)}
  strata.upgrade_priority(sym, "critical")
end

M.on_snapshot = M.on_trade

function M.on_day(date) -- a new market day (the calendar's): yesterday's state goes
  seen = {}
end

return M
