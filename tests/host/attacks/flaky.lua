-- Issue 15.8: faults on every third tick only, never K in a row.
local M = {state = {n = 0}}
function M.on_trade(sym, t)
  M.state.n = M.state.n + 1
  if M.state.n % 3 == 0 then error('every third tick fails') end
end
return M
