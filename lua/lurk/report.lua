--- lurk.report: small helpers for printing a tool's results at exit.
--
--   local report = require "lurk.report"
--   report.top({ mov = 120, call = 7, ret = 7 }, 2, "mnemonic")
--
-- prints, to lurk's output:
--
--         count  mnemonic
--           120  mov
--             7  call
local M = {}

local format, sort, write = string.format, table.sort, io.write

--- The keys of counts sorted by count (largest first), then by key.
function M.sorted(counts)
  if type(counts) ~= "table" then
    error(format("bad argument #1 to 'sorted' (table expected, got %s)", type(counts)), 2)
  end
  local keys = {}
  for k in pairs(counts) do keys[#keys + 1] = k end
  sort(keys, function(a, b)
    if counts[a] ~= counts[b] then return counts[a] > counts[b] end
    return tostring(a) < tostring(b)
  end)
  return keys
end

--- Print the n largest entries of counts (all if n is nil) under a header
-- naming the key column.
function M.top(counts, n, what)
  local keys = M.sorted(counts)
  n = n and math.min(n, #keys) or #keys
  write(format("%14s  %s\n", "count", what or "key"))
  for i = 1, n do write(format("%14d  %s\n", counts[keys[i]], tostring(keys[i]))) end
end

return M
