-- Issue 15.5: a finalizer that never returns (Lua runs __gc with hooks off).
local M = {}
function M.on_trade(sym, t)
  setmetatable({}, {__gc = function() while true do end end})
  collectgarbage()
end
return M
