--- lurk.memcheck.report: memcheck's error records: symbolized stacks,
-- duplicates merged by kind and top frames, text in Valgrind's shape,
-- the summary, and the JSON document.
--
--   local R = require "lurk.memcheck.report"
--   R.setup(opts)
--   R.error("heap-overflow", { addr = a, size = 4, write = true, tid = t,
--            stack = pcs, exact = exact, block = b })
--   R.summary()       --> number of errors (merged ones counted each time)
--
-- A report, to lurk's output (==PID== prefixed, as Valgrind prints):
--
--   ==4242== Invalid write of size 4 [heap-overflow]
--   ==4242==    at 0x401156: main (overflow.c:7)
--   ==4242==  Address 0x4a4a068 is 0 bytes after a block of size 40 alloc'd
--   ==4242==    at 0x7f..: malloc (libc.so.6)
--   ==4242==    by 0x401147: main (overflow.c:5)
local M = {}

local format, concat, sort, log = string.format, table.concat, table.sort, lurk.log

local opts
local errors = {}        -- key -> record, in order of first sight
local order = {}
local nerrors, nunique = 0, 0
local names = {}         -- pc -> frame text
local pfx

--- Runtime libraries: a report's location is the first frame outside them.
local RUNTIME = { "^libc%.so", "^ld%-linux", "^libstdc%+%+%.so", "^libgcc_s%.so", "^libm%.so" }
local function in_runtime(module)
  for _, p in ipairs(RUNTIME) do if module:match(p) then return true end end
  return false
end
M.in_runtime = in_runtime

-- -- Suppressions ----------------------------------------------------------
-- One per line: KIND FRAME...; KIND a glob on the kind, each FRAME a glob
-- on a function name (demangled) matched against the stack from the top
-- (the allocation stack for leaks): "*" any one frame, "..." any number.
-- A rule matches when its frames match a prefix of the stack.
local DEFAULT_SUPP = {
  -- a thread's DTV, pointed at from its cached stack by dtv + 1 (an
  -- interior pointer); Valgrind frees it at exit with __libc_freeres
  "leak-* ... _dl_allocate_tls ...",
}
local supp = {}
local nsupp = 0

local function glob(g)
  return "^" .. g:gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".") .. "$"
end

--- Add a rule (text as in a suppressions file); nil, msg when malformed.
function M.add_suppression(line)
  local words = {}
  for w in line:gmatch("%S+") do words[#words + 1] = w end
  if #words < 2 then return nil, "a suppression needs a kind and at least one frame: '" .. line .. "'" end
  local r = { kind = glob(words[1]), frames = {} }
  for i = 2, #words do r.frames[#r.frames + 1] = words[i] == "..." and "..." or glob(words[i]) end
  supp[#supp + 1] = r
  return true
end

--- Read a suppressions file (# comments, blank lines); raises on errors.
function M.load_suppressions(path)
  local f, err = io.open(path, "r")
  if not f then error("memcheck: cannot read suppressions: " .. err, 0) end
  local n = 0
  for line in f:lines() do
    n = n + 1
    line = line:gsub("#.*$", "")
    if line:match("%S") then
      local ok, msg = M.add_suppression(line)
      if not ok then error(format("memcheck: %s:%d: %s", path, n, msg), 0) end
    end
  end
  f:close()
end

local function match_frames(pats, i, frames, j)
  if i > #pats then return true end
  local p = pats[i]
  if p == "..." then
    for k = j, #frames + 1 do if match_frames(pats, i + 1, frames, k) then return true end end
    return false
  end
  local f = frames[j]
  if not f then return false end
  if not (f.fn or "???"):match(p) then return false end
  return match_frames(pats, i + 1, frames, j + 1)
end

--- Does a rule suppress kind with these frames?
function M.suppressed(kind, frames)
  for _, r in ipairs(supp) do
    if kind:match(r.kind) and match_frames(r.frames, 1, frames, 1) then return true end
  end
  return false
end

function M.setup(o)
  opts = o
  pfx = format("==%d== ", lurk.pid())
  if not o.default_supp_off then for _, l in ipairs(DEFAULT_SUPP) do assert(M.add_suppression(l)) end end
  if o.suppressions then M.load_suppressions(o.suppressions) end
end

--- After a fork: the child's own prefix and an empty error list.
function M.reset()
  errors, order, nerrors, nunique = {}, {}, 0, 0
  pfx = format("==%d== ", lurk.pid())
end

-- sym of a stack entry: exact pcs as they are, return addresses at pc - 1.
local function sym_of(pc, exact)
  return lurk.sym(exact and pc or pc - 1)
end

local function frame(pc, exact)
  local k = exact and pc or -pc
  local t = names[k]
  if t then return t end
  local s = sym_of(pc, exact)
  if not s then t = { text = format("0x%x: ???", pc) }
  else
    local where = s.file and format("%s:%d", s.file:match("[^/]*$"), s.line) or s.module
    t = { text = format("0x%x: %s (%s)", pc, s.name or "???", where), file = s.file, line = s.line,
          module = s.module, fn = s.name }
  end
  names[k] = t
  return t
end
M.frame = frame

--- The frames of a stack (pcs, exact flags), at most n.
function M.frames(pcs, exact, n)
  local out = {}
  local first = exact == true   -- a wrap's stack: [1] the function, then return addresses
  for i = 1, math.min(#pcs, n or #pcs) do
    out[i] = frame(pcs[i], first and i == 1 or type(exact) == "table" and exact[i])
  end
  return out
end

--- The source location "file:line" of the first frame outside the runtime
-- libraries that has a line, else of the first frame.
function M.location(frames)
  for _, f in ipairs(frames) do
    if f.module and not in_runtime(f.module) and f.file then
      return format("%s:%d", f.file:match("[^/]*$"), f.line), f
    end
  end
  local f = frames[1]
  return f and f.file and format("%s:%d", f.file:match("[^/]*$"), f.line) or "?", f
end

local function print_stack(frames)
  for i, f in ipairs(frames) do log("%s   %s %s", pfx, i == 1 and "at" or "by", f.text) end
end

local TITLE = {
  ["heap-overflow"] = "Invalid %s of size %d", ["heap-underflow"] = "Invalid %s of size %d",
  ["use-after-free"] = "Invalid %s of size %d", ["unaddressable"] = "Invalid %s of size %d",
  ["below-sp"] = "Invalid %s of size %d",
  ["invalid-free"] = "Invalid free() / delete / delete[] / realloc()",
  ["double-free"] = "Invalid free() / delete / delete[] / realloc() (double free)",
  ["mismatched-free"] = "Mismatched free() / delete / delete []",
  ["realloc-freed"] = "Invalid realloc() of a freed block",
  ["leak-definite"] = "%s bytes in %d blocks are definitely lost",
  ["leak-indirect"] = "%s bytes in %d blocks are indirectly lost",
  ["leak-possible"] = "%s bytes in %d blocks are possibly lost",
  ["uninit-cond"] = "Conditional jump or move depends on uninitialised value(s)",
  ["uninit-syscall"] = "Syscall param points to uninitialised byte(s)",
}

local function block_text(e)
  local b = e.block
  if not b then return format("Address 0x%x is not stack'd, malloc'd or (recently) free'd", e.addr) end
  local a, u, n = e.addr, b.user, b.size
  local rel
  if a < u then rel = format("%d bytes before", u - a)
  elseif a >= u + n then rel = format("%d bytes after", a - u - n)
  else rel = format("%d bytes inside", a - u) end
  return format("Address 0x%x is %s a block of size %d %s", a, rel, n, b.freed and "free'd" or "alloc'd")
end

--- Record an error; e: kind, addr, size, write, tid, stack (pcs), exact,
-- block (user, size, alloc_stack, free_stack, freed), text (extra line).
-- Returns the record (merged: count incremented).
function M.error(kind, e)
  local pcs = e.stack or {}
  local key = kind .. ":" .. concat(pcs, ",", 1, math.min(#pcs, 4))
  nerrors = nerrors + 1
  local r = errors[key]
  if r then
    r.count = r.count + 1
    if r.suppressed then nerrors, nsupp = nerrors - 1, nsupp + 1 end
    return r
  end
  local frames = M.frames(pcs, e.exact, opts.callers)
  if M.suppressed(kind, frames) then
    nerrors = nerrors - 1
    nsupp = nsupp + 1
    r = { count = 1, suppressed = true }
    errors[key] = r
    return r
  end
  local loc = M.location(frames)
  r = { kind = kind, count = 1, addr = e.addr, size = e.size, write = e.write, tid = e.tid,
        frames = frames, location = loc, text = e.text, title = e.title }
  if e.block then
    local b = e.block
    r.block_text = block_text(e)
    r.alloc_frames = b.alloc and M.frames(b.alloc, true, opts.callers)
    r.alloc_location = r.alloc_frames and M.location(r.alloc_frames)
    r.free_frames = b.free and M.frames(b.free, true, opts.callers)
    r.free_location = r.free_frames and M.location(r.free_frames)
  end
  errors[key] = r
  order[#order + 1] = r
  nunique = nunique + 1
  local title = e.title or TITLE[kind] or kind
  if title:find("%%s of size") then title = format(title, e.write and "write" or "read", e.size) end
  log("%s%s [%s] thread %d", pfx, title, kind, e.tid or 0)
  print_stack(frames)
  if e.text then log("%s %s", pfx, e.text) end
  if e.block then
    log("%s %s", pfx, r.block_text)
    if r.free_frames then
      log("%s Block was free'd at", pfx)
      print_stack(r.free_frames)
      log("%s Block was alloc'd at", pfx)
    end
    if r.alloc_frames then print_stack(r.alloc_frames) end
  end
  log("%s", pfx)
  return r
end

--- A leak record (printed at exit, already merged by the caller).
function M.leak(kind, bytes, blocks, alloc_pcs)
  nerrors = nerrors + 1
  local frames = M.frames(alloc_pcs or {}, true, opts.callers)
  local r = { kind = kind, count = 1, bytes = bytes, blocks = blocks, frames = frames,
              location = M.location(frames) }
  order[#order + 1] = r
  nunique = nunique + 1
  log("%s" .. TITLE[kind] .. " [%s]", pfx, M.commas(bytes), blocks, kind)
  print_stack(frames)
  log("%s", pfx)
  return r
end

function M.commas(n)
  local s = format("%d", n)
  local k
  repeat s, k = s:gsub("^(-?%d+)(%d%d%d)", "%1,%2") until k == 0
  return s
end

function M.log(fmt, ...) log("%s" .. fmt, pfx, ...) end

--- Counts: errors (every occurrence), unique records, suppressed ones.
function M.counts() return nerrors, nunique, nsupp end
function M.records() return order end

--- The JSON document of the run.
function M.document(extra)
  local list = {}
  for i, r in ipairs(order) do
    local function fr(frames)
      if not frames then return nil end
      local t = {}
      for j, f in ipairs(frames) do t[j] = f.text end
      return t
    end
    list[i] = { kind = r.kind, count = r.count, address = r.addr, size = r.size, bytes = r.bytes,
                blocks = r.blocks, write = r.write, tid = r.tid, location = r.location,
                stack = fr(r.frames), alloc_stack = fr(r.alloc_frames), free_stack = fr(r.free_frames),
                alloc_location = r.alloc_location, free_location = r.free_location,
                block = r.block_text }
  end
  local doc = { tool = "memcheck", pid = lurk.pid(), errors = nerrors, unique = nunique, reports = list }
  for k, v in pairs(extra or {}) do doc[k] = v end
  return doc
end

return M
