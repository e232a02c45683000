--- null: the null tool as a script. It registers no handler, so the program
-- runs from the code cache without instrumentation; compare with
-- `lurk run -- PROG` to see what loading the Lua state costs.
--
--   lurk run null -- /bin/ls            # same output as ls
--   lurk run -t null -- /bin/ls         # the same, as a -t tool
--
-- Sample output: none (lurk prints nothing of its own).
local M = {}

--- Called with the tool's arguments (none are used).
function M.start() end

return M
