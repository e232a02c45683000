-- lurk.shadow: the shadow memory service from Lua (engine/shadow.c; its C
-- unit test is spec/unit/shadow_test.c, ctest unit.shadow).
local h = require "spec.util.helper"

local function eval(code)
  local r = h.run({ "-e", code, "--", "/bin/true" })
  return r.stderr, r.status
end

describe("lurk.shadow", function()
  it("sets, reads and checks ranges byte by byte", function()
    local out, st = eval([[
      local s, A = lurk.shadow, 0x5a0000000003
      assert(s.set(A, 10, "defined") == true)
      print(s.get(A - 1), s.get(A), s.get(A + 9), s.get(A + 10))
      print(s.check(A, 10), s.check(A - 2, 5))
      print(s.find(A - 100, 200, "addressable") == A, s.find(A, 200, "noaccess") == A + 10, s.find(A, 10, "noaccess"))
      s.set(A + 4, 1, "undefined") s.set(A + 5, 1, "partial")
      print(s.get(A + 4), s.get(A + 5), s.check(A, 10))
    ]])
    assert.equal(0, st, out)
    local A = 0x5a0000000003
    assert.equal("noaccess\tdefined\tdefined\tnoaccess\n" ..
                 "nil\t" .. string.format("%d", A - 2) .. "\t3\n" ..
                 "true\ttrue\tnil\n" ..
                 "undefined\tpartial\tnil\n", out)
  end)

  it("tracks definedness: mark, masks, copy (memmove order), first undefined; noaccess stays", function()
    local out, st = eval([[
      local s, A = lurk.shadow, 0x5c0000000001
      s.set(A, 64, "undefined")
      s.set(A + 64, 16, "noaccess")
      assert(s.set_mask(A, 8, 0x96) == true)            -- bytes 1 2 4 7 undefined
      print(s.undef_mask(A, 8), s.first_undefined(A, 8) == A + 1, s.first_undefined(A + 8, 0))
      s.mark(A + 60, 8, "defined")                     -- 4 addressable, 4 noaccess
      print(s.get(A + 63), s.get(A + 64), s.undef_mask(A + 56, 8))
      s.copy(A + 2, A, 8)                              -- overlapping, forward: as memmove
      print(s.undef_mask(A, 12))
      s.copy(A + 62, A, 8)                             -- onto noaccess bytes: they stay
      print(s.get(A + 64), s.get(A + 63), s.first_undefined(A + 16, 40) == A + 16)
      s.mark(A, 64, "defined")
      print(s.first_undefined(A, 64), s.undef_mask(A, 32))
      local ok, msg = pcall(s.undef_mask, A, 33)
      print(ok, msg:match("bad argument #2 to '.-' %(at most 32 bytes%)") ~= nil)
    ]])
    assert.equal(0, st, out)
    -- 0x96 shifted by 2 over bytes 0..11: 0,1 stay (0b10), then 0x96's 8 bits, then bytes 10, 11 undefined
    assert.equal("150\ttrue\tnil\n" ..
                 "defined\tnoaccess\t15\n" ..
                 string.format("%d", 2 + 0x96 * 4 + 0xc00) .. "\n" ..
                 "noaccess\tundefined\ttrue\n" ..
                 "nil\t0\n" ..
                 "false\ttrue\n", out)
  end)

  it("maps large uniform ranges onto shared pages, private again on a partial write", function()
    local out, st = eval([[
      local s = lurk.shadow
      local st0 = s.stats()
      s.set(0x5b0000000000, 64 * 1024 * 1024, "defined")
      local st1 = s.stats()
      s.set(0x5b0000000000 + 100, 1, "noaccess")
      local st2 = s.stats()
      print(st1.special_pages - st0.special_pages, st2.special_pages - st1.special_pages,
            st2.private_pages - st1.private_pages, s.get(0x5b0000000000 + 100), s.get(0x5b0000000000 + 101))
    ]])
    assert.equal(0, st, out)
    assert.equal("4096\t-1\t1\tnoaccess\tdefined\n", out)
  end)

  it("gives the layout for inline translation: (addr >> shift) + offset", function()
    local out = eval([[
      local s, ffi = lurk.shadow, require "ffi"
      s.set(0x5c0000000000, 8, "defined") s.set(0x5c0000000001, 1, "noaccess")
      local p = ffi.cast("uint8_t *", math.floor(0x5c0000000000 / 2 ^ s.shift) + s.offset)
      print(s.shift, string.format("0x%x 0x%x", p[0], p[1]), s.app_end == 2^47)
    ]])
    assert.equal("2\t0xa2 0xaa\ttrue\n", out)
  end)

  it("strcheck: the bytes a C string function reads, only where addressable", function()
    -- an engine buffer of 64 bytes; the shadow says only some are addressable
    local out, st = eval([[
      local s, ffi = lurk.shadow, require "ffi"
      local mem = ffi.new("char[64]")
      local b = tonumber(ffi.cast("uintptr_t", mem))
      local function put(off, str) ffi.copy(mem + off, str, #str) end
      local function r(x) return x and string.format("+%d", x - b) or "ok" end
      s.set(b, 8, "defined")
      put(0, "abcdefgh")                                   -- no terminator in the 8
      print(r(s.strcheck("strlen", b)), r(s.strcheck("strnlen", b, 8)), r(s.strcheck("strnlen", b, 9)),
            r(s.strcheck("memchr", b, 0x64, 100)), r(s.strcheck("memchr", b, 0x7a, 100)),
            r(s.strcheck("strchr", b, 0x68)), r(s.strcheck("memrchr", b, 0x61, 9)))
      s.set(b + 32, 8, "defined")
      put(32, "abcdxyz\0")
      print(r(s.strcheck("strcmp", b, b + 32)), r(s.strcheck("memcmp", b, b + 32, 50)),
            r(s.strcheck("strncmp", b + 32, b, 3)), r(s.strcheck("strcasecmp", b + 32, b + 32)),
            r(s.strcheck("strcat", b + 32, b)), r(s.strcheck("strspn", b, b + 32)),
            r(s.strcheck("strcspn", b + 32, b + 36)), r(s.strcheck("strstr", b, b + 36)),
            r(s.strcheck("strspn", b + 32, b)))                  -- (its set unterminated)
      put(32, "cde\0")
      print(r(s.strcheck("strstr", b, b + 32)), r(s.strcheck("strcpy", b + 40, b)))
      s.set(b + 16, 12, "defined")
      ffi.cast("uint32_t *", mem + 16)[0] = 0x41 ffi.cast("uint32_t *", mem + 16)[1] = 0x42
      ffi.cast("uint32_t *", mem + 16)[2] = 0x43
      print(r(s.strcheck("wcslen", b + 16)), r(s.strcheck("wcschr", b + 16, 0x42)))
    ]])
    assert.equal(0, st, out)
    assert.equal("+8\tok\t+8\tok\t+8\tok\t+8\n" ..
                 "ok\tok\tok\tok\t+8\tok\tok\t+8\t+8\n" ..
                 "ok\t+8\n" ..
                 "+28\tok\n", out)
  end)

  it("checks its arguments", function()
    local out = eval([[
      for _, f in ipairs({
        function() lurk.shadow.set(1, -1, "defined") end,
        function() lurk.shadow.set(1, 1, "bogus") end,
        function() lurk.shadow.get("x") end,
        function() lurk.shadow.find(1, 1, "defined") end,
      }) do print((select(2, pcall(f)):gsub("^%(command line%):%d+: ", ""))) end
    ]])
    assert.equal("bad argument #2 to 'set' (non-negative integer expected)\n" ..
                 "bad argument #3 to 'set' (invalid option 'bogus')\n" ..
                 "bad argument #1 to 'get' (integer expected (a number or a 64-bit cdata), got string)\n" ..
                 "bad argument #3 to 'find' (invalid option 'defined')\n", out)
  end)
end)
