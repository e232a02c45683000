--- memcheck: a memory checker in the manner of Valgrind's memcheck and Dr.
-- Memory: unaddressable accesses (heap overflow and underflow through
-- redzones, use after free through a delayed-free quarantine, accesses
-- below the stack pointer past the red zone), heap misuse
-- (invalid, double and mismatched frees, realloc of a freed block) and
-- leaks at exit (definitely, indirectly and possibly lost, still
-- reachable), with symbolized stacks; with --uninit, uses of
-- uninitialised values in conditional branches and system calls
-- (lurk.memcheck.uninit: byte-level, the first slice).
--
--   lurk run memcheck -- ./prog
--   lurk run memcheck --exit-code 9 json=mc.json -- ./prog
--
-- Options:
--   --redzone N      bytes of redzone each side of a block (default 16, a
--                    multiple of 16)
--   --quarantine N   bytes of freed blocks held back from reuse (default
--                    20000000, as memcheck's --freelist-vol)
--   --quarantine-blocks N  and at most N blocks (default 100000; Dr.
--                    Memory's -delay_frees is 2000)
--   --callers N      frames per error stack (default 12)
--   --alloc-depth N  frames kept per allocation and free (default 8)
--   --exit-code N    exit status when errors were found (default: the
--                    program's own)
--   --no-leaks       no leak scan at exit
--   --no-access      no check of memory accesses (heap misuse and leaks only)
--   --uninit         track uninitialised values (off by default: see
--                    docs/tools.md for what it models and its cost)
--   --suppressions FILE  more suppressions (one per line: KIND FRAME...,
--                    globs; "..." any frames; see docs/tools.md)
--   --no-default-suppressions  not the built-in ones (glibc's thread DTVs)
--   json, json=FILE  the reports as one JSON object (lurk's output, or
--                    appended to FILE; %p: the pid)
--
-- Sample report (lurk run memcheck -- ./overflow; to lurk's output):
--
--   ==4242== Invalid write of size 4 [heap-overflow] thread 4242
--   ==4242==    at 0x401156: main (overflow.c:7)
--   ==4242==  Address 0x4a4a068 is 0 bytes after a block of size 40 alloc'd
--   ==4242==    at 0x7f..: malloc (malloc.c:3287)
--   ==4242==    by 0x401147: main (overflow.c:5)
--   ==4242==
--   ==4242== LEAK SUMMARY:
--   ...
--   ==4242== ERROR SUMMARY: 1 errors from 1 contexts
local M = {}

local R = require "lurk.memcheck.report"

local opts

local function summary()
  local sum
  if not opts.no_leaks then sum = require("lurk.memcheck.leak").scan(opts) end
  local n, u, ns = R.counts()
  R.log("ERROR SUMMARY: %d errors from %d contexts (suppressed: %d)", n, u, ns)
  if opts.json then
    local extra = {}
    if sum then
      extra.leaks = {}
      for k, v in pairs(sum) do extra.leaks[k] = { bytes = v[1], blocks = v[2] } end
    end
    require("lurk.report").json(R.document(extra), opts.json)
  end
  if n > 0 and opts.exit_code then os.exit(opts.exit_code) end
end

local function parse(argv)
  local report = require "lurk.report"
  local o = require("lurk.args").parse("memcheck", argv, {
    redzone = { "count", 16, min = 16 }, quarantine = { "count", 20000000 },
    ["quarantine-blocks"] = { "count", 100000 },
    callers = { "count", 12, min = 1 }, ["alloc-depth"] = { "count", 8, min = 1 },
    ["exit-code"] = { "count" }, ["no-leaks"] = { "flag" }, ["no-access"] = { "flag" },
    json = { "string" }, suppressions = { "string" }, ["no-default-suppressions"] = { "flag" },
    uninit = { "flag" },
  }, function(word, t)
    t.json = report.json_option(word)
    return t.json ~= nil
  end)
  if o.redzone % 16 ~= 0 then error("memcheck: option '--redzone' needs a multiple of 16 (got " .. o.redzone .. ")", 0) end
  return { redzone = o.redzone, quarantine = o.quarantine, quarantine_blocks = o["quarantine-blocks"],
           callers = o.callers,
           alloc_depth = o["alloc-depth"], exit_code = o["exit-code"], no_leaks = o["no-leaks"],
           no_access = o["no-access"], json = o.json, suppressions = o.suppressions,
           default_supp_off = o["no-default-suppressions"], uninit = o.uninit }
end

--- Start checking (options as on the command line).
function M.start(...)
  opts = parse({ ... })
  R.setup(opts)
  require("lurk.memcheck.heap").start(opts)
  require("lurk.memcheck.access").start(opts)
  require("lurk.memcheck.leak").start(opts)
  if opts.uninit then require("lurk.memcheck.uninit").start(opts) end
  lurk.on("fork", function() R.reset() end)
  lurk.on("exit", summary, { priority = 100 })
end

return M
