-- a module next to the scripts that require it
local M = { loaded_as = ... }
function M.twice(x) return 2 * x end
return M
