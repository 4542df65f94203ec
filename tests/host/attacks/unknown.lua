-- Issue 15.8: calls a host function that does not exist.
local M = {}
function M.on_trade(sym, t)
  strata.buy(sym, 10)
end
return M
