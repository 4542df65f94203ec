-- Issue 15.3: looking up a callback this module lacks runs an __index that raises.
local M = {}
function M.init() strata.watch('005930', 'high') end
return setmetatable(M, {__index = function(t, k) error('no callback ' .. k) end})
