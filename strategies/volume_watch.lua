-- Volume watch: a minute whose volume reaches 3x the symbol's average minute so far today (once
-- there are 10 minutes to average), or a day's volume past an absolute threshold, means
-- something is happening: raise the symbol to CRITICAL, once a day.
--
-- params: ratio (default 3), min_minutes (default 10), volume (shares; default 0 = off)

local M = {}
local ratio, min_minutes, volume = 3, 10, 0
local stats = {} -- per symbol: minute, now (its volume so far), done (closed minutes), sum, raised

function M.init(params)
  ratio = tonumber(params.ratio) or ratio
  min_minutes = tonumber(params.min_minutes) or min_minutes
  volume = tonumber(params.volume) or volume
end

local function raise(sym, s, why)
  s.raised = true
  strata.upgrade_priority(sym, "critical")
  strata.log("info", sym .. ": " .. why)
end

function M.on_trade(sym, t)
  local minute = t.time // 60
  local s = stats[sym]
  if not s then
    s = {minute = minute, now = 0, done = 0, sum = 0, raised = false}
    stats[sym] = s
  end
  if minute ~= s.minute then -- close the minute (quiet minutes in between count as zero)
    s.sum = s.sum + s.now
    s.done = s.done + (minute - s.minute)
    s.minute, s.now = minute, 0
  end
  s.now = s.now + t.volume
  if s.raised then return end
  if s.done >= min_minutes and s.now >= ratio * (s.sum / s.done) then
    raise(sym, s, string.format("%.0f traded this minute, %.1fx the average minute", s.now, s.now / (s.sum / s.done)))
  elseif volume > 0 and t.cum_volume >= volume then
    raise(sym, s, string.format("day volume %.0f", t.cum_volume))
  end
end

function M.on_timeslot(slot)
  if slot == "pre_market" then stats = {} end -- a new day
end

return M
