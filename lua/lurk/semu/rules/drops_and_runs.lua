-- An executable the program wrote (or renamed into place) is then run.
local rules = require "lurk.semu.rules"
return {
  name = "drops_and_runs",
  description = "drops an executable and runs it",
  check = function(doc)
    local written, ev = {}, {}
    for _, e in ipairs(doc.events) do
      local p = rules.written_path(e)
      if p then written[p] = e.id end
      if (e.call == "execve" or e.call == "execveat") and not e.error and written[e.args.path] then
        ev[#ev + 1] = written[e.args.path]
        ev[#ev + 1] = e.id
      end
    end
    return #ev > 0, ev
  end,
}
