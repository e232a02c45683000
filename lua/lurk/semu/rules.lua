--- lurk.semu.rules: verdict rules over a finished behaviour log. A rule is
-- a Lua file returning { name, description, check = function(doc) }, where
-- check returns whether it matched and a list of evidence (event ids or
-- short texts). The default folder is lua/lurk/semu/rules/ beside this file;
-- `--rules PATH` names a file or another folder.
--
--   local rules = require "lurk.semu.rules"
--   local verdicts = rules.run(doc)       --> { { rule = "connects_network", matched = true,
--                                         --      description = "...", evidence = { "4242:7" } }, ... }
local M = {}

local json = require "lurk.json"

function M.default_dir()
  local src = debug.getinfo(1, "S").source
  local dir = src:match("^@(.*)/[^/]*$") or "."
  return dir .. "/rules"
end

local function load_rule(path)
  local chunk, err = loadfile(path)
  if not chunk then return nil, err end
  local ok, r = pcall(chunk)
  if not ok then return nil, path .. ": " .. tostring(r) end
  if type(r) ~= "table" or type(r.check) ~= "function" then
    return nil, path .. ": a rule returns { name, description, check = function(doc) }"
  end
  r.name = r.name or path:match("([^/]*)%.lua$")
  return r
end

--- The rules at path (a .lua file or a folder of them), sorted by name.
function M.load(path)
  path = path or M.default_dir()
  local list = {}
  local names = lurk.dir(path)
  if names then
    table.sort(names)
    for _, n in ipairs(names) do
      if n:match("%.lua$") then
        local r, err = load_rule(path .. "/" .. n)
        if not r then return nil, err end
        list[#list + 1] = r
      end
    end
  else
    local r, err = load_rule(path)
    if not r then return nil, err end
    list[1] = r
  end
  return list
end

--- Run the rules over doc: the verdicts, or nil and a message.
function M.run(doc, path)
  local list, err = M.load(path)
  if not list then return nil, err end
  local out = {}
  for _, r in ipairs(list) do
    local ok, matched, evidence = pcall(r.check, doc)
    if not ok then return nil, "rule " .. r.name .. ": " .. tostring(matched) end
    out[#out + 1] = { rule = r.name, description = r.description or "", matched = matched and true or false,
                      evidence = json.array(evidence or {}) }
  end
  return out
end

-- -- Helpers for rules -----------------------------------------------------------------

--- Does the event write or create the file (open for writing, creat, rename's target...)?
-- Returns the path written.
function M.written_path(ev)
  local c, a = ev.call, ev.args or {}
  if ev.error then return nil end
  if c == "open" or c == "openat" then
    local fl = a.flags or ""
    if fl:match("O_WRONLY") or fl:match("O_RDWR") or fl:match("O_CREAT") or fl:match("O_TRUNC") then return a.path end
  elseif c == "creat" or c == "truncate" then return a.path
  elseif c == "write" or c == "pwrite64" then return a.file
  elseif c == "rename" or c == "renameat" or c == "renameat2" or c == "link" or c == "linkat" then return a.to
  elseif c == "symlink" or c == "symlinkat" then return a.path
  end
  return nil
end

return M
