-- bench: wrap one function with empty pre and post handlers (what a
-- wrapped call costs by itself; see bench/README.md and bench/tools/wrap.sh).
-- lurk run bench/tools/wrap.lua ADDR [pre|post|both] -- PROG ...
local addr, which = ...
addr = assert(tonumber(addr), "usage: wrap.lua ADDR [pre|post|both]")
which = which or "both"
local t = {}
if which ~= "post" then t.pre = function(c) end end
if which ~= "pre" then t.post = function(c) end end
lurk.wrap(addr, t)
