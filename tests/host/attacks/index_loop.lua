-- Issue 15.3: looking up a callback this module lacks runs an __index that never returns.
local M = {}
function M.init() end
return setmetatable(M, {__index = function(t, k) while true do end end})
