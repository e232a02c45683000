-- lurk.guard and bb:guard (docs/lua-api.md, "Guards"): indirect transfers
-- checked in the engine's lookup, a validated target asked about once.
local h = require "spec.util.helper"

local tmp = h.tmpdir()
local prog = tmp .. "/guarded"
h.gcc(prog, "-O1", "-g", "-no-pie", "-fcf-protection=none", h.root .. "/spec/guard/guarded.c")

-- A tool guarding the main program's indirect calls and returns with one
-- guard; its handler returns `verdict`; range: the calls' [lo, hi) is the
-- main module. At exit: how often it was asked per target kind, and
-- whether ctx was the state before the branch each time.
local function tool(verdict, range)
  return h.tmpfile(string.format([[
local ffi = require "ffi"
local verdict, range = %s, %s
local asked, bad = { a = 0, b = 0, ret = 0, other = 0 }, 0
local per_ret = {}   -- asks per return target
local A, B = lurk.addr("guarded!a"), lurk.addr("guarded!b")
local rets = {}
local g = lurk.guard(function(ctx, target, pc)
  if ctx.pc ~= pc then bad = bad + 1 end
  if rets[pc] then
    local v = tonumber(ffi.cast("const uint64_t *", ffi.cast("const char *", lurk.read(ctx.rsp, 8)))[0])
    if v ~= target then bad = bad + 1 end
    asked.ret = asked.ret + 1
    per_ret[target] = (per_ret[target] or 0) + 1
  elseif target == A or target == B then
    if ctx.rsp %% 16 ~= 0 then bad = bad + 1 end   -- before the call's push
    local k = target == A and "a" or "b"
    asked[k] = asked[k] + 1
  else
    asked.other = asked.other + 1
  end
  return verdict
end)
lurk.on("bb", function(bb)
  local l = bb[#bb]
  local m = lurk.module_at(l.pc)
  if not (m and m.main) then return end
  if l.is_ret then rets[l.pc] = true; bb:guard(g)
  elseif l.is_call and l.is_indirect then
    if range then bb:guard(g, m.base, m["end"]) else bb:guard(g) end
  end
end)
lurk.on("exit", function()
  local most = 0
  for _, n in pairs(per_ret) do most = math.max(most, n) end
  lurk.log("asked a=%%d b=%%d ret=%%d other=%%d bad=%%d most=%%d", asked.a, asked.b, asked.ret, asked.other, bad, most)
end)
]], tostring(verdict), tostring(range)), ".lua")
end

local function asked(r)
  local a, b, ret, other, bad, most = r.stderr:match("asked a=(%d+) b=(%d+) ret=(%d+) other=(%d+) bad=(%d+) most=(%d+)")
  assert.truthy(a, r.stderr)
  return { a = tonumber(a), b = tonumber(b), ret = tonumber(ret), other = tonumber(other), bad = tonumber(bad),
           most = tonumber(most) }
end

describe("lurk.guard", function()
  it("asks once per target it validated, for every site of the guard", function()
    local r = h.run({ tool(true, false), "--", prog, "guarded", "1000" })
    assert.equal(0, r.status, r.stderr)
    assert.equal("sum 550000\n", r.stdout)
    local n = asked(r)
    -- a and b once each; each return target once (a's and b's returns:
    -- two sites, one target)
    assert.equal(1, n.a)
    assert.equal(1, n.b)
    assert.equal(1, n.most)
    assert.equal(0, n.bad)
  end)

  it("asks every time when the handler does not validate", function()
    local r = h.run({ tool(false, false), "--", prog, "guarded", "1000" })
    assert.equal(0, r.status, r.stderr)
    assert.equal("sum 550000\n", r.stdout)
    local n = asked(r)
    assert.equal(500, n.a)
    assert.equal(500, n.b)
    assert.truthy(n.ret >= 1000, r.stderr)
    assert.truthy(n.most >= 1000, r.stderr)
    assert.equal(0, n.bad)
  end)

  it("does not ask about targets in the site's range", function()
    local r = h.run({ tool(false, true), "--", prog, "guarded", "1000" })
    assert.equal(0, r.status, r.stderr)
    assert.equal("sum 550000\n", r.stdout)
    local n = asked(r)
    assert.equal(0, n.a + n.b)
    assert.truthy(n.most >= 1000, r.stderr)
  end)

  it("a handler that writes ctx.pc goes on there from the state before the branch", function()
    -- it makes the call itself: pushes the return address, goes to b
    local script = h.tmpfile([[
local A, B = lurk.addr("guarded!a"), lurk.addr("guarded!b")
local g = lurk.guard(function(ctx, target, pc)
  if target ~= A then return true end
  local len = lurk.decode(lurk.read(pc, 16), pc).length
  local ra, s = pc + len, ""
  for i = 0, 7 do s = s .. string.char(math.floor(ra / 256 ^ i) % 256) end
  ctx.rsp = ctx.rsp - 8
  lurk.write(ctx.rsp, s)
  ctx.pc = B
  return true
end)
lurk.on("bb", function(bb)
  local l = bb[#bb]
  local m = lurk.module_at(l.pc)
  if m and m.main and l.is_call and l.is_indirect then bb:guard(g) end
end)
]], ".lua")
    local r = h.run({ script, "--", prog, "redirect" })
    assert.equal(0, r.status, r.stderr)
    assert.equal("a(1) = 101\n", r.stdout)
  end)

  it("lurk.guard(handler, g): guard g asks the new handler", function()
    local script = h.tmpfile([[
local A = lurk.addr("guarded!a")
local first, second = 0, 0
local g = lurk.guard(function(ctx, target) if target == A then first = first + 1 end return false end)
lurk.on("bb", function(bb)
  local l = bb[#bb]
  local m = lurk.module_at(l.pc)
  if m and m.main and l.is_call and l.is_indirect then bb:guard(g) end
end)
lurk.on("syscall_pre", function()   -- the program's write: swap handlers
  lurk.guard(function(ctx, target) if target == A then second = second + 1 end return false end, g)
end, { only = { "write" } })
lurk.on("exit", function() lurk.log("first %d second %d", first, second) end)
]], ".lua")
    local r = h.run({ script, "--", prog, "redirect" })
    assert.equal(0, r.status, r.stderr)
    assert.truthy(r.stderr:find("first 1 second 0", 1, true), r.stderr)
    r = h.run({ script, "--", prog, "twice" })
    assert.equal(0, r.status, r.stderr)
    assert.truthy(r.stderr:find("first 1 second 1", 1, true), r.stderr)
  end)

  it("bad arguments raise; a fifth guard is nil, msg", function()
    local script = h.tmpfile([[
local ok, err = pcall(function() lurk.guard(1) end)
lurk.log("1: %s", err)
local gs = {}
for i = 1, 5 do gs[i], err = lurk.guard(function() return true end) end
lurk.log("5: %s %s", tostring(gs[5]), err)
ok, err = pcall(function() lurk.guard(function() end, 7) end)
lurk.log("7: %s", err)
local done = false
lurk.on("bb", function(bb)
  if done then return end
  done = true
  local ok, e = pcall(function() bb:guard(9) end)
  lurk.log("9: %s", e)
  ok, e = pcall(function() bb:guard(1, 10, 5) end)
  lurk.log("range: %s", e)
end)
]], ".lua")
    local r = h.run({ script, "--", "/bin/true" })
    assert.equal(0, r.status, r.stderr)
    assert.truthy(r.stderr:find("bad argument #1 to 'guard' (function expected, got number)", 1, true), r.stderr)
    assert.truthy(r.stderr:find("5: nil all guards are in use (4)", 1, true), r.stderr)
    assert.truthy(r.stderr:find("bad argument #2 to 'guard' (not a guard (lurk.guard))", 1, true), r.stderr)
    assert.truthy(r.stderr:find("bad argument #1 to 'guard' (not a guard (lurk.guard))", 1, true), r.stderr)
    assert.truthy(r.stderr:find("bad argument #3 to 'guard' (below lo)", 1, true), r.stderr)
  end)
end)
