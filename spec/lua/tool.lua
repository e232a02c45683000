-- a tool module: -t tool=a,b calls start("a", "b")
local M = {}
print("top", ...)
function M.start(...) print("start", ...) end
return M
