-- Issue 15.3: the reused tick and book tables get fields removed or replaced and metatables
-- that raise or loop on every access; the host fills them with raw sets, so every call still
-- sees the tick's own values.
local M = {state = {n = 0, books = 0}}
function M.on_trade(sym, t)
  M.state.n = M.state.n + 1
  M.state.price = rawget(t, 'price')
  M.state.side = rawget(t, 'side') and 1 or 0
  t.price, t.side, t.volume = nil, nil, nil
  setmetatable(t, {__newindex = function() error('no writes') end, __index = function() while true do end end})
end
function M.on_orderbook(sym, ob)
  M.state.books = M.state.books + 1
  local ask = rawget(ob, 'ask')
  M.state.ask1 = type(ask) == 'table' and ask[1] or -1
  ob.ask, ob.bid = 5, nil
  setmetatable(ob, {__newindex = function() error('no writes') end})
end
return M
