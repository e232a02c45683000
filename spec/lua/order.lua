-- registers handlers named by its arguments: order.lua tag prio [stage]
local tag, prio = ...
lurk.on("init", function(e) print("init", tag, e.event) end, { priority = tonumber(prio) })
lurk.on("exit", function(e) print("exit", tag, e.status) end, { priority = tonumber(prio) })
