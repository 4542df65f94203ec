-- Issue 15.7: fills its heap to the cap and keeps it there (a table it never frees).
local M = {}
local keep = {}
function M.on_trade(sym, t)
  for i = 1, 1e8 do keep[#keep + 1] = string.rep('x', 64) .. i end
end
return M
