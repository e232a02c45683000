--- inscount: count the instructions the program executes (DynamoRIO's and
-- Pin's inscount), in total or only in the main executable.
--
--   lurk run -t inscount -- ls /tmp             # every instruction after takeover
--   lurk run -t inscount=main -- ./prog          # only the main executable's code
--   lurk run -t inscount=main,modules -- ./prog  # also a line per module
--   lurk run -t inscount=json -- ./prog          # the report as JSON
--
-- Options (any order): `main` counts only instructions of the program
-- itself (its text, .init/.fini and PLT stubs; not ld.so, libc or other
-- libraries); `modules` adds one line per module, largest first. `json`
-- writes the report as one line of JSON on lurk's output instead of the
-- text; `json=FILE` appends it to FILE (`%p`: the pid) and keeps the text:
--
--   {"instructions":173569,"main_only":false,"modules":[{"instructions":161751,
--    "name":"libc.so.6","path":"/usr/lib/x86_64-linux-gnu/libc.so.6"},...],
--    "pid":4242,"tool":"inscount"}
--
-- ("modules" is there with `modules`.)
--
-- Sample output (lurk run -t inscount=modules -- /bin/echo hi):
--
--   hi
--   inscount: 282,934 instructions
--     libc.so.6                   162,908
--     ld-linux-x86-64.so.2        119,680
--     echo                            346
--
-- (every instruction from the first one, ld.so's: its relocation work and
-- libc's initialisation included; with --preload the count starts after
-- ld.so has loaded the libraries, and lurk's own libraries' destructors
-- show up at exit.)
--
-- How it counts: one clean call per block, before its first instruction,
-- with the block's instruction count as argument ("count"). The handlers
-- only add the count to an upvalue, so lurk inlines them: the block adds
-- to a counter, no Lua runs (docs/lua-api.md, Inlined clean calls; about
-- 2.7x native on python3, against 74x with --no-inline). An instruction
-- counts once each time it runs. A rep-prefixed string instruction
-- (`rep movsb`, `repne scasb`) counts ONCE per execution however many
-- iterations it makes, as in DynamoRIO and Pin (valgrind counts every
-- iteration). A block cut short by a fault still counts whole. What runs
-- before lurk takes over (ld.so's start, up to liblurk.so's constructor)
-- is not counted; lurk's own code never is. A forked child counts its own
-- instructions from the fork on, starting from the parent's count at the
-- fork, and prints its own total when it exits.
local report = require "lurk.report"
local opts = {}
for _, a in ipairs({ ... }) do
  local j = report.json_option(a)
  if a == "main" or a == "modules" then opts[a] = true
  elseif j then opts.json = j
  else error(string.format("inscount: unknown option '%s' (main, modules, json, json=FILE)", a), 0) end
end

local total = 0
local per = {}                   -- module path -> function returning its count (modules)
local function count(ctx, n) total = total + n end

-- One counter per module, an upvalue of its own handler (so still inlined).
local function count_in(path)
  local c = 0
  per[path] = function() return c end
  return function(ctx, n) c = c + n end
end
local handlers = {}

lurk.on("bb", function(bb)
  local m = lurk.module_at(bb.pc)
  if opts.main and not (m and m.main) then return end
  if opts.modules then
    local path = m and m.path or "(no module)"
    if not handlers[path] then handlers[path] = count_in(path) end
    bb:call_before(1, handlers[path], "count")
  else
    bb:call_before(1, count, "count")
  end
end)

-- 1234567 -> "1,234,567"
local function group(n)
  local s = string.format("%d", n)
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

lurk.on("exit", function()
  for _, get in pairs(per) do total = total + get() end
  local what = opts.main and " in the main executable" or ""
  local text = opts.json ~= true
  if text then lurk.log("inscount: %s instructions%s", group(total), what) end
  local list = {}
  if opts.modules then
    for path, get in pairs(per) do list[#list + 1] = { name = path:match("[^/]*$"), path = path, n = get() } end
    table.sort(list, function(a, b) if a.n ~= b.n then return a.n > b.n end return a.name < b.name end)
    if text then for _, e in ipairs(list) do lurk.log("  %-22s %12s", e.name, group(e.n)) end end
  end
  if opts.json then
    local doc = { tool = "inscount", pid = lurk.pid(), instructions = total, main_only = opts.main == true }
    if opts.modules then
      doc.modules = {}
      for i, e in ipairs(list) do doc.modules[i] = { name = e.name, path = e.path, instructions = e.n } end
    end
    assert(report.json(doc, opts.json))
  end
end)
