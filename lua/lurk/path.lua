--- lurk.path: file-system paths taken apart by name, as the tools that
-- watch system calls need them (shepherd's guard, semu's log and overlay).
--   local path = require "lurk.path"
--   path.normalize("a/../b//c", "/tmp")   --> "/tmp/b/c"
local M = {}

--- path made absolute against base (a directory, default "/"), with `.`,
-- `..` and repeated slashes taken out by name (symbolic links are not
-- followed: the kernel would, so this is a path's spelling, not its file).
function M.normalize(path, base)
  if type(path) ~= "string" then
    error(("bad argument #1 to 'normalize' (string expected, got %s)"):format(type(path)), 2)
  end
  if base ~= nil and type(base) ~= "string" then
    error(("bad argument #2 to 'normalize' (string expected, got %s)"):format(type(base)), 2)
  end
  if path:sub(1, 1) ~= "/" then path = (base or "/") .. "/" .. path end
  local out = {}
  for part in path:gmatch("[^/]+") do
    if part == ".." then out[#out] = nil
    elseif part ~= "." then out[#out + 1] = part end
  end
  return "/" .. table.concat(out, "/")
end

return M
