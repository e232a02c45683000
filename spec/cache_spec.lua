-- The code cache is never writable through the addresses it runs at
-- (docs/architecture.md, "Two views of the cache"): a store by the program
-- into its own translated code faults as a store into code does natively,
-- and a forked child gets a cache of its own.
--
-- spec/cache/cache_store.c finds the translated copy of one of its own
-- instructions in the cache (by its bytes) and stores to it the byte
-- already there; natively it finds no copy and stores to the original (its
-- own text, read+execute): SIGSEGV, SEGV_ACCERR, si_addr = the target.
local h = require "spec.util.helper"

local tmp = h.tmpdir()
local dir = h.root .. "/spec/cache"
local store = h.gcc(tmp .. "/cache_store", "-g", "-O1", dir .. "/cache_store.c")
local fork = h.gcc(tmp .. "/fork_cache", "-g", "-O1", dir .. "/fork_cache.c")
local fork_tls = h.gcc(tmp .. "/fork_tls", "-g", "-O1", dir .. "/fork_tls.c")
local tls_forge = h.gcc(tmp .. "/tls_forge", "-g", "-O1", dir .. "/tls_forge.c")
local tls_store = h.gcc(tmp .. "/tls_store", "-g", "-O1", "-pthread", dir .. "/tls_store.c")

-- Run argv natively: status, stdout.
local function native(argv)
  local words = {}
  for _, a in ipairs(argv) do words[#words + 1] = h.quote(a) end
  local out = os.tmpname()
  local st = h.sh("(" .. table.concat(words, " ") .. ") >" .. out .. " 2>/dev/null </dev/null")
  local s = h.slurp(out) or ""
  os.remove(out)
  return st, s
end

-- lurk run --preload OPTS -- argv. (From the first instruction, lurk's
-- mappings are not in the program's /proc/self/maps, where cache_store
-- looks for its copy; the cache's two views are the same in both starts.)
local function lurk(opts, argv)
  local args = { "--preload" }
  for _, a in ipairs(opts) do args[#args + 1] = a end
  args[#args + 1] = "--"
  for _, a in ipairs(argv) do args[#args + 1] = a end
  return h.run(args)
end

describe("a store into the code cache", function()
  for _, opts in ipairs({ { "null" }, { "null", "--far-cache", "--no-superblocks" }, { "shepherd", "--quiet" } }) do
    local how = table.concat(opts, " ")
    it("faults as natively, the program's handler sees SEGV_ACCERR at the address (" .. how .. ")", function()
      local st, out = native({ store, "handler" })
      assert.equal(0, st)
      assert.equal("signal 11, SEGV_ACCERR, at the target: yes\n", out:match("\n(.*)$"))
      local r = lurk(opts, { store, "handler" })
      assert.truthy(r.stderr:find("target: copy", 1, true), r.stderr) -- it did find its code in the cache
      assert.equal(out, r.stdout, r.stderr)
      assert.equal(st, r.status, r.stderr)
    end)
    it("with no handler, kills the process with SIGSEGV as natively (" .. how .. ")", function()
      local st, out = native({ store, "die" })
      assert.equal(139, st)
      local r = lurk(opts, { store, "die" })
      assert.truthy(r.stderr:find("target: copy", 1, true), r.stderr)
      assert.equal(out, r.stdout, r.stderr)
      assert.equal(st, r.status, r.stderr)
    end)
  end
end)

-- The thread blocks' first page (the pointers cache code jumps through,
-- the table bases, the engine stack: arch/x86_64/target.h) is read-only
-- where the program runs (docs/architecture.md, "The thread block").
-- spec/cache/tls_store.c finds the blocks of its two threads by their self
-- pointer and stores into each read-only field the value already there;
-- natively it stores at the same offsets into its own text.
describe("a store into a thread block's read-only page", function()
  for _, opts in ipairs({ { "null" }, { "null", "--far-cache", "--no-superblocks", "--mangle-fs" }, { "shepherd", "--quiet" } }) do
    local how = table.concat(opts, " ")
    it("faults as natively, SEGV_ACCERR at each field's address; the slots after it stay writable (" .. how .. ")", function()
      local st, out = native({ tls_store, "handler" })
      assert.equal(0, st)
      assert.equal("read-only fields: every store faulted (SEGV_ACCERR at the address)\nwritable slot: written\n", out)
      local r = lurk(opts, { tls_store, "handler" })
      assert.truthy(r.stderr:find("targets: 2 thread blocks", 1, true), r.stderr) -- it found both threads' blocks
      assert.equal(out, r.stdout, r.stderr)
      assert.equal(st, r.status, r.stderr)
    end)
    it("with no handler, kills the process with SIGSEGV as natively (" .. how .. ")", function()
      local st, out = native({ tls_store, "die" })
      assert.equal(139, st)
      local r = lurk(opts, { tls_store, "die" })
      assert.truthy(r.stderr:find("thread blocks", 1, true), r.stderr)
      assert.equal(out, r.stdout, r.stderr)
      assert.equal(st, r.status, r.stderr)
    end)
  end
end)

-- The writable slots the engine reads back are checked: spec/cache/tls_forge.c
-- stores fake site data (guard 7 of 4) into TLS_GUARD_DATA, then makes a
-- lookup miss. A miss other than a guarded lookup's clears the slot; a
-- value that gets past that is refused by arch_guard_data_ok (with a
-- warning, which the test rejects too); before, lurk indexed past its guards.
describe("a forged value in a thread block's writable slot", function()
  for _, opts in ipairs({ { "null" }, { "null", "--far-cache", "--no-superblocks" }, { "shepherd", "--quiet" } }) do
    local how = table.concat(opts, " ")
    it("is not taken for a guarded lookup's site data (" .. how .. ")", function()
      local st, out = native({ tls_forge })
      assert.equal(0, st)
      assert.equal("the call returned 40\n", out)
      local r = lurk(opts, { tls_forge })
      assert.truthy(r.stderr:find("target: thread block", 1, true), r.stderr)
      assert.falsy(r.stderr:find("forged", 1, true), r.stderr)
      assert.equal(out, r.stdout, r.stderr)
      assert.equal(st, r.status, r.stderr)
    end)
  end
end)

describe("fork", function()
  -- spec/cache/fork_cache.c: child and parent translate new code in turn
  -- after the fork; a shared cache would run the parent's code in the child
  for _, opts in ipairs({ { "null" }, { "--far-cache", "null" }, { "--preload", "null" } }) do
    it("gives the child a cache of its own (" .. table.concat(opts, " ") .. ")", function()
      local st, out = native({ fork })
      assert.equal(0, st)
      assert.truthy(out:find("child exit 0", 1, true), out)
      local args = {}
      for _, a in ipairs(opts) do args[#args + 1] = a end
      args[#args + 1] = "--"
      args[#args + 1] = fork
      local r = h.run(args)
      assert.equal(out, r.stdout, r.stderr)
      assert.equal(st, r.status, r.stderr)
    end)
    -- spec/cache/fork_tls.c: parent and child leave the cache for the engine
    -- at once (system calls in loops translated after the fork); a thread
    -- block page shared with the parent resumes one in the other's code
    it("gives the child a thread block page of its own (" .. table.concat(opts, " ") .. ")", function()
      local st, out = native({ fork_tls })
      assert.equal(0, st)
      assert.truthy(out:find("child exit 0", 1, true), out)
      local args = {}
      for _, a in ipairs(opts) do args[#args + 1] = a end
      args[#args + 1] = "--"
      args[#args + 1] = fork_tls
      local r = h.run(args)
      assert.equal(out, r.stdout, r.stderr)
      assert.equal(st, r.status, r.stderr)
    end)
  end
end)

teardown(function() h.sh("rm -rf " .. h.quote(tmp)) end)
