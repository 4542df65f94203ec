-- Issue 15.3, and the views of issue 19.2: a callback tries to remove or replace the tick's
-- fields, to read and write it raw, to give it a metatable that raises or loops, and to
-- tamper with the book's arrays. Every attempt is refused (each refusal counted here, inside
-- pcall, so none is a fault) and the next call still reads its own tick's values.
local M = {state = {n = 0, books = 0, refused = 0, kind = ''}}
local function try(f, ...)
  if not pcall(f, ...) then M.state.refused = M.state.refused + 1 end
end
local evil = {__newindex = function() error('no writes') end, __index = function() while true do end end}
local kept -- a trade's view, kept to be handed where a book's is expected
function M.on_trade(sym, t)
  M.state.n = M.state.n + 1
  M.state.price = t.price
  M.state.side = t.side == 'buy' and 1 or 0
  M.state.kind = type(t)
  local fields = 0
  for k, v in pairs(t) do fields = fields + 1 end
  M.state.fields = fields
  try(function() t.price, t.side, t.volume = nil, nil, nil end)
  try(function() t.extra = 1 end)
  try(setmetatable, t, evil)
  try(rawset, t, 'price', 1)
  try(rawget, t, 'price')
  kept = t
end
function M.on_orderbook(sym, ob)
  M.state.books = M.state.books + 1
  M.state.ask1 = ob.ask[1]
  M.state.bid_levels = #ob.bid
  try(function() ob.ask, ob.bid = 5, nil end)
  try(setmetatable, ob, evil)
  local nxt = pairs(ob)           -- the iterator, called with what it does not expect:
  try(nxt, 5, 'ask')              -- not a view: refused
  M.state.other = select('#', nxt(kept, 'ask')) -- the trade's view has no book arrays: nothing
  ob.ask[1] = -1                  -- the array is the strategy's to scribble on until the next tick
  setmetatable(ob.bid, evil)      -- and its metatable never runs for the host
end
return M
