-- Issue 15.6: library functions whose work happens in C, where the instruction hook never
-- looks. params.attack picks one.
local M = {}
local attack
local attacks = {
  find = function() return string.find(string.rep('a', 200), 'a*a*a*a*b') end,
  match = function() return ('a'):rep(300):match('(a-)(a-)(a-)(a-)b') end,
  gmatch = function() for x in string.gmatch(string.rep('a', 300), 'a*a*a*b') do end end,
  gsub = function() return string.gsub(string.rep('a', 200), 'a*a*a*a*b', 'x') end,
  sort = function() local t = {} for i = 1, 3000 do t[i] = -i end for _ = 1, 1e6 do table.sort(t) end end,
  move = function() local t = {1} table.move(t, 1, 1e12, 2) end,
  collect = function() while true do collectgarbage('collect') end end,
}
function M.init(p) attack = attacks[p.attack] end
function M.on_trade(sym, t) attack() end
return M
