-- a runtime error two calls deep
local function inner() error("deliberate failure") end
local function outer() inner() end
outer()
