-- prints its arguments: from ... and from arg
local n = select("#", ...)
print("n=" .. n, "arg0=" .. tostring(arg[0]), "argn=" .. #arg, table.concat({ ... }, ","))
