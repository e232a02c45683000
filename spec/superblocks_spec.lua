-- lurk.on("bb", fn, { superblocks = true }): blocks that go on past
-- conditional branches when every bb handler takes them (docs/lua-api.md,
-- "Superblocks").
local h = require "spec.util.helper"

local tmp = h.tmpdir()
local prog = tmp .. "/branchy"
h.gcc(prog, "-O2", "-no-pie", "-fcf-protection=none", h.root .. "/spec/superblocks/branchy.c")

-- Counts the main program's executed instructions with an inlined call
-- before each (so side exits must leave the rest of a superblock's
-- counts out), and the branches it saw inside blocks.
local script = h.tmpfile([[
local sb, other = os.getenv("SB") == "1", os.getenv("OTHER") == "1"
local n, mid = 0, 0
local function count(ctx, k) n = n + k end
lurk.on("bb", function(bb)
  local m = lurk.module_at(bb.pc)
  if not (m and m.main) then return end
  for i = 1, #bb do
    if i < #bb and bb[i].is_branch then mid = mid + 1 end
    bb:call_before(i, count, 1)
  end
end, { superblocks = sb })
if other then lurk.on("bb", function() end) end
lurk.on("exit", function() lurk.log("count %d mid %d", n, mid) end)
]], ".lua")

local function run(env)
  local r = h.run({ "--stats", script, "--", prog, "3000" }, { env = env })
  assert.equal(0, r.status, r.stderr)
  assert.equal("215026\n", r.stdout)
  local n, mid = r.stderr:match("count (%d+) mid (%d+)")
  local built = r.stderr:match("blocks built%s+(%d+)")
  assert.truthy(n and built, r.stderr)
  return tonumber(n), tonumber(mid), tonumber(built)
end

describe("superblocks for bb handlers", function()
  it("a handler that takes them sees branches inside blocks; the counts are the same", function()
    local n0, mid0, built0 = run("SB=0")
    assert.equal(0, mid0)
    local n1, mid1, built1 = run("SB=1")
    assert.truthy(mid1 > 0)
    assert.equal(n0, n1)
    -- translated as planned: fewer blocks (803 and 503 when written)
    assert.truthy(built1 < built0 * 0.8, built1 .. " blocks with superblocks, " .. built0 .. " without")
  end)

  it("one handler without the option keeps every block basic", function()
    local _, mid = run("SB=1 OTHER=1")
    assert.equal(0, mid)
  end)

  it("only bb handlers take the option", function()
    local bad = h.tmpfile('lurk.on("exit", function() end, { superblocks = true })', ".lua")
    local r = h.run({ bad, "--", "/bin/true" })
    assert.is_not.equal(0, r.status)
    assert.truthy(r.stderr:find("only 'bb' handlers take superblocks", 1, true), r.stderr)
  end)
end)
