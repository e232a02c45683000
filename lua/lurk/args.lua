--- lurk.args: a tool's command-line options, GNU style: `--name VALUE`,
-- `--name=VALUE` and `--flag`, checked against a table of kinds.
--
--   local args = require "lurk.args"
--   local opts = args.parse("profile", { ... }, {
--     hz = { "count", 1000, min = 1 },  -- a whole number (default, minimum)
--     svg = { "string" },                 -- a value
--     threads = { "flag" },               -- no value: true when given
--   })
--
-- `lurk run profile --hz 99 --svg p.svg --threads -- prog` gives
-- { hz = 99, svg = "p.svg", threads = true }. A bad option raises
-- "profile: unknown option '--x' (--hz N, --svg V, --threads)" or
-- "profile: option '--hz' needs a whole number >= 1 (got 'x')" at level 0,
-- which lurk reports as the script's error. `other(word, opts)`, if given,
-- may take a word the table does not know (return true if it did).
local M = {}

local format, concat, sort, floor = string.format, table.concat, table.sort, math.floor

local function usage(kinds)
  local names = {}
  for k in pairs(kinds) do names[#names + 1] = k end
  sort(names)
  for i, k in ipairs(names) do
    local kind = kinds[k][1]
    names[i] = "--" .. k .. (kind == "count" and " N" or kind == "string" and " V" or "")
  end
  return concat(names, ", ")
end

--- Parse the list argv for tool with the option kinds; returns the options
-- (defaults filled in).
function M.parse(tool, argv, kinds, other)
  local opts = {}
  for k, spec in pairs(kinds) do opts[k] = spec[2] end
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local k, v = a:match("^%-%-([%w_-]+)=(.*)$")
    if not k then k = a:match("^%-%-([%w_-]+)$") end
    local spec = k and kinds[k]
    if spec and spec[1] == "flag" then
      if v then error(format("%s: option '--%s' takes no value", tool, k), 0) end
      opts[k] = true
    elseif spec then
      if not v then i = i + 1 v = argv[i] end
      if v == nil then error(format("%s: option '--%s' needs a value", tool, k), 0) end
      if spec[1] == "count" then
        local n, min = tonumber(v), spec.min or 0
        if not n or n ~= floor(n) or n < min then
          error(format("%s: option '--%s' needs a whole number >= %d (got '%s')", tool, k, min, v), 0)
        end
        v = n
      end
      opts[k] = v
    elseif a ~= "" and not (other and other(a, opts)) then
      error(format("%s: unknown option '%s' (%s)", tool, a, usage(kinds)), 0)
    end
    i = i + 1
  end
  return opts
end

return M
