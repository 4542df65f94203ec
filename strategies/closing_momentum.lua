-- Closing momentum: between 14:00 and 15:20 (the closing trend, before the closing auction), a
-- stock up on the day that rises 2% or more from its 14:00 price is riding into the close:
-- signal a buy and report the move as its performance score (which drives rebalancing), once.
--
-- params: move (fraction, default 0.02), start ("14:00"), stop ("15:20"),
--         utc_offset (seconds east of UTC of the venue's clock, default 32400: KST)

local M = {}
local move, start, stop, offset = 0.02, 14 * 3600, 15 * 3600 + 20 * 60, 32400
local base, done = {}, {}

local function tod(hhmm)
  local h, m = hhmm:match("^(%d%d?):(%d%d)$")
  assert(h, "expected HH:MM, got " .. hhmm)
  return tonumber(h) * 3600 + tonumber(m) * 60
end

function M.init(params)
  move = tonumber(params.move) or move
  start = params.start and tod(params.start) or start
  stop = params.stop and tod(params.stop) or stop
  offset = tonumber(params.utc_offset) or offset
end

function M.on_trade(sym, t)
  local now = (t.time + offset) % 86400
  if now < start or now >= stop or done[sym] then return end
  local b = base[sym]
  if not b then
    base[sym] = t.price -- the first trade of the window
    return
  end
  local up = t.price / b - 1
  if up >= move and t.price > t.prev_close then
    done[sym] = true
    strata.signal{symbol = sym, side = "buy", strength = up * 100,
                  reason = string.format("closing momentum %+.1f%% since 14:00", up * 100)}
    strata.update_performance_score(sym, up * 100)
  end
end

function M.on_day(date) -- a new market day (the calendar's): yesterday's state goes
  base, done = {}, {}
end

return M
