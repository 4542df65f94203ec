-- Issue 15.4: the budget trips inside a coroutine; then the main thread loops in pcall.
local M = {}
function M.on_trade(sym, t)
  local co = coroutine.create(function() while true do end end)
  coroutine.resume(co)
  while true do pcall(function() end) end
end
return M
