--- lurk.report: small helpers for printing a tool's results at exit.
--
--   local report = require "lurk.report"
--   report.top({ mov = 120, call = 7, ret = 7 }, 2, "mnemonic")
--   local dest = report.json_option("json=out.%p.json")   --> "out.%p.json"
--   report.json({ tool = "mytool", total = 134 }, dest)
--
-- prints, to lurk's output:
--
--         count  mnemonic
--           120  mov
--             7  call
--
-- and appends `{"tool":"mytool","total":134}` and a newline to
-- out.4242.json (4242 being the process id).
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

--- The destination of a tool's `json` option: true for "json" (lurk's
-- output), the file name for "json=FILE", nil for any other word.
function M.json_option(word)
  if word == "json" then return true end
  local file = type(word) == "string" and word:match("^json=(.+)$")
  return file or nil
end

--- Write the JSON text of doc (lurk.json, sorted keys) as one line to
-- dest: lurk's output when dest is true, else the file dest, appended
-- (`%p` in the name is the process id), so the processes of one run
-- (forked children, exec'd programs) each add their own line: JSON Lines.
-- Returns true, or nil and a message when the file cannot be opened.
function M.json(doc, dest)
  local text = require("lurk.json").encode(doc) .. "\n"
  if dest == true then
    io.stdout:write(text)
    return true
  end
  local name = dest:gsub("%%p", tostring(lurk and lurk.pid and lurk.pid() or 0))
  local f, err = io.open(name, "a")
  if not f then return nil, err end
  f:write(text)
  f:close()
  return true
end

return M
