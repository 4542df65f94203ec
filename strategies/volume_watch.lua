-- Volume watch: a minute whose volume reaches 3x the symbol's average minute so far today (once
-- there are 10 minutes to average), or a day's volume past an absolute threshold, means
-- something is happening: raise the symbol to CRITICAL, once a day.
--
-- A symbol known only by REST snapshots (tier 3) is judged between two polls: when the volume
-- traded since the previous snapshot, per second, reaches `burst` times its rate since the
-- first snapshot of the day that showed trading (from the third such snapshot on), it gets an
-- emergency subscription: tier 1 at once, evicting a holder worth less than `score`. After
-- `hold` seconds the strategy lets it go again (unwatch). Once a day per symbol.
--
-- params: ratio (default 3), min_minutes (default 10), volume (shares; default 0 = off),
--         burst (default 10), score (emergency priority score, default 120), hold (default 600)

local M = {}
local ratio, min_minutes, volume, burst, score, hold = 3, 10, 0, 10, 120, 600
local stats = {} -- per symbol: minute, now (its volume so far), done (closed minutes), sum, raised
local polls = {} -- per symbol: first and last snapshot's time and cum_volume, count, done
local held = {}  -- per symbol with an emergency: when it ends

function M.init(params)
  ratio = tonumber(params.ratio) or ratio
  min_minutes = tonumber(params.min_minutes) or min_minutes
  volume = tonumber(params.volume) or volume
  burst = tonumber(params.burst) or burst
  score = tonumber(params.score) or score
  hold = tonumber(params.hold) or hold
  strata.every(60, "release")
end

function M.on_timer(name)
  if name ~= "release" then return end
  local now = strata.now()
  for sym, until_ in pairs(held) do
    if now >= until_ then
      held[sym] = nil
      strata.unwatch(sym)
    end
  end
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

function M.on_snapshot(sym, s)
  local p = polls[sym]
  if s.cum_volume <= 0 then return end -- not trading yet: no rate to compare with
  if not p then
    polls[sym] = {t0 = s.time, v0 = s.cum_volume, t = s.time, v = s.cum_volume, n = 1}
    return
  end
  if p.done or s.time <= p.t then return end
  local rate = (s.cum_volume - p.v) / (s.time - p.t)
  local avg = p.t > p.t0 and (p.v - p.v0) / (p.t - p.t0) or 0
  p.n, p.t, p.v = p.n + 1, s.time, s.cum_volume
  if p.n >= 3 and avg > 0 and rate >= burst * avg then
    p.done = true
    local ok, why = strata.emergency_subscribe(sym, score)
    if ok then held[sym] = s.time + hold end
    strata.log("info", string.format("%s: %.1fx its volume rate between two polls: emergency %s", sym,
                                     rate / avg, ok and "subscription" or ("refused: " .. tostring(why))))
  end
end

function M.on_day(date) -- a new market day (the calendar's): yesterday's state goes
  stats, polls, held = {}, {}, {}
end

return M
