-- lurk: the handler compiler's front end. It reads a clean-call handler's
-- LuaJIT bytecode and either translates it into the IR of engine/hc.h (a
-- list of {op, d, a, b, k, ...} tables the C side turns into a program the
-- translator emits inline), or says why not: the first construct outside
-- the subset, with its line. The subset and its exactness rules are in
-- docs/lua-api.md, "Compiled handlers".
--
-- Loaded once by bindings/lb_hc.c with (jit.util, bit, ctrinfo, HC) and
-- returns compile(fn, kinds) -> ir | nil, reason, line. `kinds` describes
-- each argument the site passes: "const", "pc", "count", "size", "taken",
-- "target", "ea", "reg64", "reg32", "reg16", "reg8".
local util, bit, ctrinfo, HC = ...
local band, rshift = bit.band, bit.rshift
local floor, huge = math.floor, math.huge
local getupvalue = debug.getupvalue

local TWO53, TWO64 = 2 ^ 53, 2 ^ 64
local NSLOTS, TMP = HC.NSLOTS, HC.NSLOTS -- bytecode slots map to vregs 0..NSLOTS-1; temps above

-- Opcode numbers, read off reference functions compiled here (so no
-- LuaJIT version's numbering is assumed): name -> number.
local OP = {}
do
  local u, t = 0, {}
  local function first(f, skip)
    local pc = 1
    for _ = 1, skip or 0 do pc = pc + 1 end
    return band(util.funcbc(f, pc), 0xff)
  end
  local function learn(name, f, skip)
    local o = first(f, skip)
    OP[name] = o
  end
  learn("KSHORT", function(c, a, b) local x = 1 return x end)
  learn("KNUM", function(c, a, b) local x = 100000 return x end)
  learn("MOV", function(c, a, b) local x = a; return x end)
  learn("ADDVV", function(c, a, b) local x = a + b return x end)
  learn("ADDVN", function(c, a, b) local x = a + 1 return x end)
  learn("ADDNV", function(c, a, b) local x = 1 + a return x end)
  learn("SUBVV", function(c, a, b) local x = a - b return x end)
  learn("SUBVN", function(c, a, b) local x = a - 1 return x end)
  learn("SUBNV", function(c, a, b) local x = 1 - a return x end)
  learn("MULVV", function(c, a, b) local x = a * b return x end)
  learn("MULVN", function(c, a, b) local x = a * 3 return x end)
  learn("MULNV", function(c, a, b) local x = 3 * a return x end)
  learn("UNM", function(c, a, b) local x = -a return x end)
  learn("UGET", function(c, a, b) local x = u return x end)
  learn("USETV", function(c, a, b) u = a end)
  learn("GGET", function(c, a, b) local x = tostring return x end)
  learn("TGETS", function(c, a, b) local x = a.f return x end)
  learn("TGETV", function(c, a, b) local x = a[b] return x end)
  learn("TGETB", function(c, a, b) local x = a[1] return x end)
  learn("TSETV", function(c, a, b) a[b] = c end)
  learn("TSETB", function(c, a, b) a[1] = c end)
  learn("CALL", function(c, a, b) local x = a(b) return x end, 2)
  learn("CALLM", function(c, a, b) local x = a(b, c(a)) return x end, 5)
  learn("RET0", function(c, a, b) end)
  learn("RET1", function(c, a, b) return a end)
  learn("JMP", function(c, a, b) if a then u = 1 end end, 1)
  learn("ISF", function(c, a, b) if a then u = 1 end end)   -- jumps over when false
  learn("IST", function(c, a, b) if not a then u = 1 end end) -- jumps over when true
  -- ISxx A D jumps (to the JMP that follows) when A xx D holds
  learn("ISLT", function(c, a, b) if not (a < b) then u = 1 end end)
  learn("ISGE", function(c, a, b) if a < b then u = 1 end end)
  learn("ISLE", function(c, a, b) if not (a <= b) then u = 1 end end)
  learn("ISGT", function(c, a, b) if a <= b then u = 1 end end)
  learn("ISEQV", function(c, a, b) if a ~= b then u = 1 end end)
  learn("ISNEV", function(c, a, b) if a == b then u = 1 end end)
  learn("ISEQN", function(c, a, b) if a ~= 1 then u = 1 end end)
  learn("ISNEN", function(c, a, b) if a == 1 then u = 1 end end)
  local seen = {}
  for name, o in pairs(OP) do
    if seen[o] and name ~= "RET1" then error("lurk.hc: opcode " .. name .. " not distinct") end
    seen[o] = name
  end
end
-- Call frames: arguments start FR2 slots after base+1 (LuaJIT's LJ_FR2:
-- two slots for the frame in 64-bit mode). Read off `local x = a(b)`.
local FR2
do
  local f = function(c, a, b) local x = a(b) return x end
  local m1 = band(rshift(util.funcbc(f, 1), 8), 0xff)
  local m2 = band(rshift(util.funcbc(f, 2), 8), 0xff)
  FR2 = m2 - m1 - 1
end
local NAME = {}
for name, o in pairs(OP) do NAME[o] = name end

-- Built-in functions the subset knows, by identity.
local BUILTIN = {
  [bit.band] = "band", [bit.bor] = "bor", [bit.bxor] = "bxor", [bit.bnot] = "bnot",
  [bit.lshift] = "lshift", [bit.rshift] = "rshift", [bit.arshift] = "arshift", [bit.tobit] = "tobit",
  [tonumber] = "tonumber",
}
local LOADS = {}
if lurk then
  for _, n in ipairs({ 8, 16, 32, 64 }) do
    local f = lurk["u" .. n]
    if f then BUILTIN[f] = "u" .. n; LOADS["u" .. n] = n / 8 end
  end
  if lurk.shr then BUILTIN[lurk.shr] = "shr" end
  if lurk.low then BUILTIN[lurk.low] = "low" end
end
local LIBS = { [bit] = "bit", [lurk or bit] = lurk and "lurk" or "bit" }
-- lurk.shadow's layout numbers (offset, shift) are constants of the run
if lurk and lurk.shadow then LIBS[lurk.shadow] = "lurk.shadow" end
local CONSTS = { ["lurk.shadow"] = { offset = true, shift = true } }

-- Argument ranges by kind: [lo, hi], and whether the called handler may
-- get a 64-bit cdata (mc) instead of a number (values past 2^53).
local ARGS = {
  const = { -2 ^ 31, 2 ^ 31 - 1 }, pc = { 0, 2 ^ 47 - 1 }, count = { 0, 4096 }, size = { 0, 4096 },
  taken = { 0, 1 }, reg32 = { 0, 2 ^ 32 - 1 }, reg16 = { 0, 65535 }, reg8 = { 0, 255 },
  target = { 0, TWO64 - 1, true }, ea = { 0, TWO64 - 1, true }, reg64 = { 0, TWO64 - 1, true },
}

local function reject(why, line) error({ why = why, line = line }, 0) end

-- A number value: range [lo, hi], mc = may be a 64-bit cdata in the call.
-- A number value: range [lo, hi], mc = may be a 64-bit cdata in the call;
-- nhi: its bound while it is a number (at most 2^53).
local function num(lo, hi, mc, nhi)
  return { t = "num", lo = lo, hi = hi, mc = mc or false, nhi = nhi or math.min(hi, 2 ^ 53) }
end

local function isint(x) return type(x) == "number" and x == floor(x) and x >= -TWO53 and x <= TWO53 end

return function(fn, kinds)
  local fi = util.funcinfo(fn)
  if not fi.bytecodes then return nil, "not a Lua function", 0 end
  local src = (fi.source or "?"):gsub("^[@=]", "")
  local nparams, nbc = fi.params, fi.bytecodes
  local ir, line = {}, fi.linedefined
  local assume = {}
  ir.assume, ir.line = assume, fi.linedefined
  local effects, bails = false, {}
  local ok, err = pcall(function()
    if fi.isvararg then reject("a vararg handler", line) end
    local function emit(op, d, a, b, k, extra)
      if op == "UVADD" or op == "CTRADD" or op == "REC" or op == "HADD" or op == "PTSET" then effects = true end
      local i = { op = op, d = d or 0, a = a or 0, b = b or 0, k = k or 0 }
      if extra then for key, v in pairs(extra) do i[key] = v end end
      ir[#ir + 1] = i
      return i
    end
    -- Slot states: what each bytecode slot holds at the current pc.
    local S = {}
    for p = 1, nparams - 1 do
      local kd = kinds[p]
      if kd then
        local r = ARGS[kd]
        S[p] = num(r[1], r[2], r[3])
        S[p].arg = p
        emit("ARG", p, p - 1)
      end
    end
    S[0] = { t = "ctx" }
    local tmp = TMP
    local function temp()
      tmp = tmp + 1
      if tmp >= HC.NVREGS then reject("too many temporaries", line) end
      return tmp - 1
    end
    local function get(s, what)
      local v = S[s]
      if v == nil then reject("reads an undefined value", line) end
      if what and v.t ~= what then
        if v.t == "ctx" then reject("uses ctx (a compiled handler sees only its arguments)", line) end
        if v.t == "uv" then reject(("reads upvalue '%s' (compiled handlers only add to numeric upvalues)"):format(v.name), line) end
        reject(("uses a %s where a number is needed"):format(v.t), line)
      end
      return v
    end
    local function setnum(s, v)
      if s >= NSLOTS then reject("too many locals", line) end
      S[s] = v
    end
    -- The index of t[C] (a counters or perthread object; C a constant when
    -- byte): { k = constant } or { slot = C, v = value }, checked in 1..n.
    local function cellindex(t, byte, C)
      local idx
      if byte then idx = { k = C }
      else
        local iv = get(C, "num")
        if iv.arg and kinds[iv.arg] == "const" then
          -- a constant argument: checked at each site (else the site calls)
          assume[#assume + 1] = { arg = iv.arg - 1, lo = 1, hi = t.n }
        elseif iv.lo < 1 or iv.hi > t.n then reject(("an index that may be outside 1..%d"):format(t.n), line) end
        idx = { slot = C, v = iv }
        if iv.lo == iv.hi and not iv.arg then idx = { k = iv.lo } end
      end
      if idx.k and (idx.k < 1 or idx.k > t.n) then reject(("index %d outside 1..%d"):format(idx.k, t.n), line) end
      return idx
    end
    local function check53(lo, hi)
      if lo < -TWO53 or hi > TWO53 then reject("a value that may pass 2^53 (where Lua's numbers lose exactness)", line) end
    end
    -- a, b: number values; both must be exact numbers unless the result
    -- stays in [0, 2^53] (then a 64-bit cdata gives the same value).
    -- + and - : where an operand may be a 64-bit cdata, the called handler
    -- does 64-bit arithmetic (exact, as compiled code); only the case where
    -- all are numbers must stay within 2^53
    local function arith(op, lo, hi, a, b, sub)
      local mc = a.mc or (b and b.mc)
      if not mc then check53(lo, hi) return num(lo, hi) end
      if lo < 0 then reject("arithmetic on a value that may be a 64-bit cdata with a negative result", line) end
      local nhi = sub and a.nhi - b.lo or a.nhi + b.nhi
      check53(lo, nhi)
      return num(lo, hi, true, nhi)
    end
    local function rmul(a, b)
      local c = { a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi }
      return math.min(c[1], c[2], c[3], c[4]), math.max(c[1], c[2], c[3], c[4])
    end
    -- Exact bit operations on numbers are 32-bit (LuaJIT's bit library);
    -- on a 64-bit cdata they are 64-bit. Only forms that agree are taken.
    -- LuaJIT reduces a number to 32 bits exactly only within +-2^51 (it
    -- adds 1.5 * 2^52 and keeps the low word): beyond, bits are lost
    local TWO51 = 2 ^ 51
    local function tobit(s, v, small)
      if v.mc and v.lo >= 0 and v.hi < 2 ^ 31 and small then return s end
      if v.mc then reject("a bit operation on a value that may be a 64-bit cdata (take lurk.low(x, n) or lurk.shr(x, n) first)", line) end
      if v.lo < -TWO51 or v.hi > TWO51 then reject("a bit operation on a value that may pass 2^51 (where LuaJIT's bit library is not exact)", line) end
      local t = temp()
      emit("SX32", t, s)
      return t
    end
    local function kval(v) return v.lo == v.hi and v.lo or nil end

    -- Pending states at forward jump targets (no loops in the subset).
    local at = {}
    local function join(a, b)
      if not a then return b end
      local r = {}
      for s, v in pairs(a) do
        local w = b[s]
        if w and v.t == "num" and w.t == "num" then
          r[s] = num(math.min(v.lo, w.lo), math.max(v.hi, w.hi), v.mc or w.mc)
        elseif w == v or (w and v.t == w.t and v.t ~= "num" and v.t ~= "uvsum" and v.t ~= "ctrsum" and v.t ~= "ctrget" and v.t ~= "hashsum" and v.t ~= "hashget" and v.t ~= "uv" and v.t == w.t and v.v == w.v) then
          r[s] = v
        end
      end
      return r
    end
    local function copy(t) local r = {} for k, v in pairs(t) do r[k] = v end return r end
    local function jumpto(target)
      if target <= 0 or target > nbc then reject("a jump out of the handler", line) end
      at[target] = join(at[target], copy(S))
      return target
    end
    local labels, nlabels = {}, 0 -- target pc -> label number (1..)
    local function label(target)
      if not labels[target] then
        nlabels = nlabels + 1
        if nlabels >= HC.NLABELS then reject("too many branches", line) end
        labels[target] = nlabels
      end
      return labels[target]
    end

    local reachable = true
    local pc = 1
    while pc < nbc do
      if at[pc] then
        S = reachable and join(S, at[pc]) or at[pc]
        reachable = true
        if labels[pc] then emit("LABEL", labels[pc]) end
      end
      local ins = util.funcbc(fn, pc)
      local info = util.funcinfo(fn, pc)
      line = info.currentline or line
      local o, A = band(ins, 0xff), band(rshift(ins, 8), 0xff)
      local C, B, D = band(rshift(ins, 16), 0xff), rshift(ins, 24), rshift(ins, 16)
      local name = NAME[o]
      tmp = TMP -- temporaries live within one bytecode
      local stepped, serr = pcall(function()
      if not reachable then
        -- dead code after a return or a jump: skipped
      elseif name == "KSHORT" then
        local v = D >= 0x8000 and D - 0x10000 or D
        setnum(A, num(v, v)); emit("K", A, 0, 0, v)
      elseif name == "KNUM" then
        local v = util.funck(fn, D)
        if not isint(v) then reject("a constant that is not an integer of at most 2^53", line) end
        setnum(A, num(v, v)); emit("K", A, 0, 0, v)
      elseif name == "MOV" then
        local v = S[D]
        if v == nil then reject("reads an undefined value", line) end
        if v.t == "num" then emit("MOV", A, D) end
        if A >= NSLOTS then reject("too many locals", line) end
        S[A] = v
      elseif name == "ADDVV" or name == "ADDVN" or name == "ADDNV" or name == "SUBVV" or name == "SUBVN" or name == "SUBNV" then
        local sub, form = name:sub(1, 3) == "SUB", name:sub(4)
        local k
        if form ~= "VV" then
          k = util.funck(fn, C)
          if not isint(k) then reject("a constant that is not an integer of at most 2^53", line) end
        end
        -- the operands: slots or the constant, left to right
        local ls, rs = B, C
        if form == "VN" then rs = nil elseif form == "NV" then ls, rs = nil, B end
        local lv = ls and S[ls] or num(k, k)
        local rv = rs and S[rs] or num(k, k)
        if lv == nil or rv == nil then reject("reads an undefined value", line) end
        local function isacc(v) return v.t == "uv" or v.t == "ctrget" or v.t == "hashget" end
        local acc = isacc(lv) and "l" or (not sub and isacc(rv)) and "r"
        if acc then
          -- u = u + e, c[i] = c[i] + e: a running sum; the addend goes to vreg A
          local base, es, ev = lv, rs, rv
          if acc == "r" then base, es, ev = rv, ls, lv end
          if ev.t ~= "num" then get(es or A, "num") end
          if A >= NSLOTS then reject("too many locals", line) end
          if not es then emit("K", A, 0, 0, sub and -k or k)
          elseif sub then emit("NEG", A, es)
          else emit("MOV", A, es) end
          if base.t == "uv" then
            if ev.mc then reject(("adds a value that may be a 64-bit cdata to upvalue '%s' (use tonumber)"):format(base.name), line) end
            -- the inlined sum is 64-bit: with addends of at most 2^16 it
            -- cannot wrap (2^47 additions); larger ones go to lurk.counters
            if ev.lo < -65536 or ev.hi > 65536 then
              reject(("adds a value that may pass 2^16 to upvalue '%s' (its inlined sum could wrap; lurk.counters are exact)"):format(base.name), line)
            end
            S[A] = { t = "uvsum", uv = base.uv, name = base.name }
          elseif base.t == "hashget" then
            S[A] = { t = "hashsum", h = base.h, key = base.key }
          else
            S[A] = { t = "ctrsum", ctr = base.ctr, idx = base.idx }
          end
        else
          if lv.t ~= "num" then get(ls, "num") end
          if rv.t ~= "num" then get(rs, "num") end
          local lo, hi
          if sub then lo, hi = lv.lo - rv.hi, lv.hi - rv.lo else lo, hi = lv.lo + rv.lo, lv.hi + rv.hi end
          local r = arith(name, lo, hi, lv, rv, sub)
          if form == "VV" then emit(sub and "SUB" or "ADD", A, B, C)
          elseif form == "VN" then emit(sub and "SUB" or "ADD", A, B, 0, k, { bk = true })
          elseif not sub then emit("ADD", A, B, 0, k, { bk = true })
          else local t = temp(); emit("NEG", t, B); emit("ADD", A, t, 0, k, { bk = true }) end
          setnum(A, r)
        end
      elseif name == "MULVV" or name == "MULVN" or name == "MULNV" then
        local x = get(B, "num")
        local y
        if name == "MULVV" then y = get(C, "num") else
          local k = util.funck(fn, C)
          if not isint(k) then reject("a constant that is not an integer of at most 2^53", line) end
          y = num(k, k)
        end
        if x.mc or y.mc then reject("a product of a value that may be a 64-bit cdata", line) end
        local lo, hi = rmul(x, y)
        check53(lo, hi)
        if name == "MULVV" then emit("MUL", A, B, C) else emit("MUL", A, B, 0, y.lo, { bk = true }) end
        setnum(A, num(lo, hi))
      elseif name == "UNM" then
        local x = get(D, "num")
        if x.mc then reject("negates a value that may be a 64-bit cdata", line) end
        emit("NEG", A, D)
        setnum(A, num(-x.hi, -x.lo))
      elseif name == "UGET" then
        local uname, val = getupvalue(fn, D + 1)
        local uvid = D
        if type(val) == "number" then S[A] = { t = "uv", uv = uvid, name = uname }
        elseif BUILTIN[val] then S[A] = { t = "fn", v = BUILTIN[val] }
        elseif LIBS[val] then S[A] = { t = "lib", v = LIBS[val], lib = val }
        else
          local kind, base, n, site = ctrinfo(val)
          if kind == "buf" then S[A] = { t = "fn", v = "buf", id = base, nfields = n, site = site }
          elseif kind == "ctr" then S[A] = { t = "ctr", v = val, base = base, n = n }
          elseif kind == "hash" then S[A] = { t = "hash", v = val, id = base, site = site }
          elseif kind == "pt" then S[A] = { t = "pt", v = val, base = base, n = n }
          else reject(("reads upvalue '%s' (a %s; compiled handlers read bit functions, lurk.counters, lurk.hash and numbers they add to)"):format(uname, type(val)), line) end
        end
        if A >= NSLOTS then reject("too many locals", line) end
      elseif name == "USETV" then
        local v = S[D]
        if not (v and v.t == "uvsum" and v.uv == A) then
          local uname = getupvalue(fn, A + 1)
          reject(("sets upvalue '%s' to something other than itself plus a number"):format(uname), line)
        end
        emit("UVADD", 0, D, 0, A, { name = v.name })
      elseif name == "GGET" then
        local gname = util.funck(fn, -D - 1)
        local env = getfenv(fn)
        local val = env[gname]
        if BUILTIN[val] then S[A] = { t = "fn", v = BUILTIN[val] }
        elseif LIBS[val] then S[A] = { t = "lib", v = LIBS[val], lib = val }
        else reject(("reads global '%s'"):format(gname), line) end
      elseif name == "TGETS" then
        local t = S[B]
        local key = util.funck(fn, -C - 1)
        if t and t.t == "ctx" then reject(("uses ctx.%s (a compiled handler sees only its arguments: pass \"%s\" as an argument)"):format(key, key), line) end
        if not (t and t.t == "lib") then reject(("reads field '%s' of a table"):format(key), line) end
        local val = t.lib[key]
        if LIBS[val] then S[A] = { t = "lib", v = LIBS[val], lib = val }
        elseif CONSTS[t.v] and CONSTS[t.v][key] and isint(tonumber(val)) then
          local v = tonumber(val)
          emit("K", A, 0, 0, v)
          S[A] = num(v, v)
        elseif not BUILTIN[val] then reject(("calls %s.%s (not in the compiled subset)"):format(t.v, key), line)
        else S[A] = { t = "fn", v = BUILTIN[val] } end
      elseif (name == "TGETV" or name == "TGETB") and S[B] and S[B].t == "hash" then
        -- h[key]: the key in a vreg (a constant one in a temporary)
        local key
        if name == "TGETB" then
          key = { slot = temp(), k = C }
          emit("K", key.slot, 0, 0, C)
        else
          key = { slot = C, v = get(C, "num") }
        end
        if A >= NSLOTS then reject("too many locals", line) end
        S[A] = { t = "hashget", h = S[B], key = key }
      elseif (name == "TGETV" or name == "TGETB") and S[B] and S[B].t == "pt" then
        -- a[i] of lurk.perthread: the calling thread's cell, 0..2^64-1
        local t = S[B]
        local idx = cellindex(t, name == "TGETB", C)
        if A >= NSLOTS then reject("too many locals", line) end
        if idx.k then emit("PTGET", A, 0, 0, t.base + idx.k - 1, { kidx = true })
        else emit("PTGET", A, idx.slot, 0, t.base - 1) end
        setnum(A, num(0, TWO64 - 1, true))
      elseif name == "TGETV" or name == "TGETB" then
        local t = S[B]
        if not (t and t.t == "ctr") then reject("indexes a table (compiled handlers index lurk.counters, lurk.hash and lurk.perthread only)", line) end
        S[A] = { t = "ctrget", ctr = t, idx = cellindex(t, name == "TGETB", C) }
      elseif (name == "TSETV" or name == "TSETB") and S[B] and S[B].t == "hash" then
        local t, v = S[B], S[A]
        if not (v and v.t == "hashsum" and v.h.v == t.v) then reject("sets a hash count to something other than itself plus a number", line) end
        local same = (name == "TSETB" and v.key.k == C) or (name == "TSETV" and v.key.v and v.key.slot == C and S[C] == v.key.v)
        if not same then reject("sets a hash count other than the one it read", line) end
        emit("HADD", 0, v.key.slot, A, t.id, { site = t.site })
      elseif (name == "TSETV" or name == "TSETB") and S[B] and S[B].t == "pt" then
        local t = S[B]
        get(A, "num")
        local idx = cellindex(t, name == "TSETB", C)
        if idx.k then emit("PTSET", 0, 0, A, t.base + idx.k - 1, { kidx = true })
        else emit("PTSET", 0, idx.slot, A, t.base - 1) end
      elseif name == "TSETV" or name == "TSETB" then
        local t, v = S[B], S[A]
        if not (t and t.t == "ctr") then reject("writes a table field (compiled handlers add to lurk.counters and lurk.hash, and store into lurk.perthread, only)", line) end
        local idx = name == "TSETB" and { k = C } or (S[C] and S[C].lo == S[C].hi and S[C].t == "num" and not S[C].arg and { k = S[C].lo }) or { slot = C, v = S[C] }
        if not (v and v.t == "ctrsum" and v.ctr.v == t.v) then reject("sets a counter to something other than itself plus a number", line) end
        local same = (idx.k and v.idx.k == idx.k) or (idx.slot and v.idx.slot == idx.slot and v.idx.v == idx.v)
        if not same then reject("sets a counter other than the one it read", line) end
        if idx.k then
          emit("CTRADD", 0, 0, A, t.base + idx.k - 1, { kidx = true })
        else
          emit("CTRADD", 0, idx.slot, A, t.base - 1)
        end
      elseif name == "CALL" or name == "CALLM" then
        local f = S[A]
        if not (f and f.t == "fn") then reject("calls a function outside the compiled subset", line) end
        -- CALLM: C fixed arguments, then the one result of the call before
        -- (a CALL with B = 0, whose result is in the next slot)
        local nargs, nres = name == "CALLM" and C + 1 or C - 1, B == 0 and 1 or B - 1
        if nres > 1 or (name == "CALL" and C == 0) then reject("a call with multiple results or arguments", line) end
        local args = {}
        local a0 = A + FR2 -- argument i is in slot a0 + i
        for i = 1, nargs do args[i] = get(a0 + i, "num") end
        local fname = f.v
        local r
        if fname == "band" or fname == "bor" or fname == "bxor" then
          if nargs < 1 then reject("bit." .. fname .. " without arguments", line) end
          -- band(x, m) with a constant 0 <= m < 2^31 agrees on a cdata x too
          local m = nargs == 2 and fname == "band" and (kval(args[2]) or kval(args[1]))
          local x = kval(args[2]) and args[1] or args[2]
          if m and m >= 0 and m < 2 ^ 31 and x.mc and x.lo >= 0 and x.nhi <= TWO51 then
            local x = kval(args[2]) and a0 + 1 or a0 + 2
            emit("AND", A, x, 0, m, { bk = true })
            r = num(0, m, true)
          else
            -- all operands numbers, or all small non-negative values (where
            -- LuaJIT's 32-bit and 64-bit operations agree)
            local small, mc = true, false
            for i = 1, nargs do
              small = small and args[i].lo >= 0 and args[i].hi < 2 ^ 31
              mc = mc or args[i].mc
            end
            local acc = tobit(a0 + 1, args[1], small)
            if acc == a0 + 1 then emit("MOV", TMP, acc); acc = TMP; tmp = math.max(tmp, TMP + 1) end
            for i = 2, nargs do
              local t = tobit(a0 + i, args[i], small)
              emit(fname == "band" and "AND" or fname == "bor" and "OR" or "XOR", acc, acc, t)
            end
            emit("MOV", A, acc)
            if small then
              local hi = 2 ^ 31 - 1
              if fname == "band" then for i = 1, nargs do hi = math.min(hi, args[i].hi) end end
              r = num(0, hi, mc)
            else
              r = num(-2 ^ 31, 2 ^ 31 - 1)
            end
            if m and m >= 0 and not mc then r = num(0, m) end
          end
        elseif fname == "bnot" or fname == "tobit" then
          if nargs ~= 1 then reject("bit." .. fname .. " takes one argument", line) end
          local t = tobit(a0 + 1, args[1])
          if fname == "bnot" then emit("XOR", A, t, 0, -1, { bk = true }) else emit("MOV", A, t) end
          r = num(-2 ^ 31, 2 ^ 31 - 1)
        elseif fname == "lshift" or fname == "rshift" or fname == "arshift" then
          if nargs ~= 2 then reject("bit." .. fname .. " takes two arguments", line) end
          local n = kval(args[2])
          if not n then reject("a shift by a count that is not a constant", line) end
          n = n % 32
          local x = args[1]
          local small = x.lo >= 0 and x.hi < 2 ^ 31 and (fname ~= "lshift" or x.hi * 2 ^ n < 2 ^ 31)
          local t = tobit(a0 + 1, x, small)
          if t == a0 + 1 then emit("MOV", TMP, t); t = TMP; tmp = math.max(tmp, TMP + 1) end
          if fname == "lshift" then emit("SHL", t, t, 0, n, { bk = true }); emit("SX32", A, t)
          elseif fname == "rshift" then emit("ZX32", t, t); emit("SHR", t, t, 0, n, { bk = true }); emit("SX32", A, t)
          else emit("SAR", A, t, 0, n, { bk = true }) end
          if small then
            local f = fname == "lshift" and 2 ^ n or 2 ^ -n
            r = num(floor(x.lo * f), floor(x.hi * f), x.mc)
          else
            r = num(-2 ^ 31, 2 ^ 31 - 1)
          end
        elseif fname == "low" then
          if nargs ~= 2 then reject("lurk.low takes two arguments", line) end
          local n = kval(args[2])
          if not n or n < 1 or n > 52 then reject("lurk.low with a bit count that is not a constant 1..52", line) end
          emit("AND", A, a0 + 1, 0, 2 ^ n - 1, { bk = true })
          r = num(0, 2 ^ n - 1)
        elseif fname == "shr" then
          if nargs ~= 2 then reject("lurk.shr takes two arguments", line) end
          local n, x = kval(args[2]), args[1]
          if not n or n < 0 or n > 63 then reject("lurk.shr by a count that is not a constant 0..63", line) end
          if x.lo < 0 then reject("lurk.shr of a value that may be negative", line) end
          emit("SHR", A, a0 + 1, 0, n, { bk = true })
          r = num(floor(x.lo / 2 ^ n), floor(x.hi / 2 ^ n), x.mc, floor(x.nhi / 2 ^ n))
        elseif fname == "tonumber" then
          if nargs ~= 1 then reject("tonumber with a base", line) end
          local x = args[1]
          if x.hi > TWO53 then reject("tonumber of a value that may pass 2^53", line) end
          emit("MOV", A, a0 + 1)
          r = num(x.lo, x.hi)
        elseif fname == "buf" then
          if nargs ~= f.nfields then reject(("a record of %d fields for a buffer of %d"):format(nargs, f.nfields), line) end
          if nres ~= 0 then reject("uses the result of a buffer append", line) end
          emit("REC", 0, a0 + 1, 0, f.id, { size = nargs, site = f.site })
          r = nil
        elseif LOADS[fname] then
          if nargs ~= 1 then reject("lurk." .. fname .. " takes one address", line) end
          local size = LOADS[fname]
          emit("LOAD", A, a0 + 1, 0, size, { size = size, line = line })
          r = size == 8 and num(0, TWO64 - 1, true) or num(0, 2 ^ (8 * size) - 1)
        else reject("calls " .. fname, line) end
        for i = 1, nargs + FR2 do S[A + i] = nil end
        if nres == 1 and r then setnum(A, r) else S[A] = nil end
      elseif name == "IST" or name == "ISF" then
        get(D, "num")
        local nxt = pc + 1
        local j = util.funcbc(fn, nxt)
        if NAME[band(j, 0xff)] ~= "JMP" then reject("a test without a jump", line) end
        local target = nxt + 1 + rshift(j, 16) - 0x8000
        -- a number is always true
        if name == "IST" then emit("JMP", label(jumpto(target))); reachable = false end
        pc = pc + 1
      elseif name == "ISLT" or name == "ISGE" or name == "ISLE" or name == "ISGT" or name == "ISEQV" or name == "ISNEV" or name == "ISEQN" or name == "ISNEN" then
        local x = get(A, "num")
        local y, yslot, yk
        if name == "ISEQN" or name == "ISNEN" then
          local k = util.funck(fn, D)
          if not isint(k) then reject("a comparison with a constant that is not an integer", line) end
          y, yk = num(k, k), k
        else y, yslot = get(D, "num"), D end
        local unsigned = false
        if (x.mc and x.hi > TWO53) or (y.mc and y.hi > TWO53) then
          if x.lo < 0 or y.lo < 0 then reject("compares a value that may be a 64-bit cdata with one that may be negative", line) end
          unsigned = true
        end
        local nxt = pc + 1
        local j = util.funcbc(fn, nxt)
        if NAME[band(j, 0xff)] ~= "JMP" then reject("a comparison without a jump", line) end
        local target = nxt + 1 + rshift(j, 16) - 0x8000
        local cond = ({ ISLT = "LT", ISGE = "GE", ISLE = "LE", ISGT = "GT", ISEQV = "EQ", ISNEV = "NE", ISEQN = "EQ", ISNEN = "NE" })[name]
        if unsigned and #cond == 2 and cond ~= "EQ" and cond ~= "NE" then cond = cond .. "U" end
        if yk then emit("BR", label(jumpto(target)), A, 0, yk, { bk = true, cond = cond })
        else emit("BR", label(jumpto(target)), A, yslot, 0, { cond = cond }) end
        pc = pc + 1
      elseif name == "JMP" then
        local target = pc + 1 + D - 0x8000
        if target <= pc then reject("a loop", line) end
        emit("JMP", label(jumpto(target)))
        reachable = false
      elseif name == "RET0" then
        emit("JMP", 0)
        reachable = false
      else
        reject(name and ("bytecode %s is not in the compiled subset"):format(name) or
          ("a construct outside the compiled subset (bytecode #%d: a loop, a table, a string, a closure...)"):format(o), line)
      end
      end)
      if not stepped then
        -- outside the subset: while nothing has been added or recorded yet
        -- (in program order), the compiled code calls the handler there
        -- instead (a clean call), and it runs whole in Lua
        if type(serr) ~= "table" or effects then error(serr, 0) end
        emit("CALL")
        bails[#bails + 1] = serr
        reachable = false
      end
      pc = pc + 1
    end
    if at[nbc] then reject("a jump out of the handler", line) end
    -- a handler that calls itself before any test or load is better called
    local PURE = { ARG = true, LABEL = true, K = true, MOV = true, ADD = true, SUB = true, MUL = true, AND = true,
                   OR = true, XOR = true, SHL = true, SHR = true, SAR = true, NEG = true, SX32 = true, ZX32 = true }
    for _, i in ipairs(ir) do
      if i.op == "CALL" then error(bails[1], 0) end
      if not PURE[i.op] then break end
    end
  end)
  if not ok then
    if type(err) == "table" then return nil, err.why, err.line, src end
    return nil, tostring(err), line, src
  end
  if bails[1] then ir.bail = ("calls the handler at %s:%d: %s"):format(src, bails[1].line, bails[1].why) end
  return ir, nil, nil, src
end
