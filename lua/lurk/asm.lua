--- lurk.asm: Intel-syntax assembler text to instruction objects.
--
--   local ins = lurk.asm([[
--     mov rax, qword ptr [rip+counter]   # a symbol: its absolute address
--     add rax, 1 ; mov qword ptr [rip+counter], rax
--   ]], { counter = addr })
--   for _, i in ipairs(ins) do bb:insert_before(1, i) end
--
-- The grammar (LPeg) turns each statement into a request table; the
-- engine's encoder (lurk._encode, Zydis) makes the bytes; lurk.decode makes
-- the objects. M.parse is pure Lua (no engine) for the unit specs.
--
-- Syntax: one instruction per line or per ';', '#' comments, labels
-- ("l1:") that branches in the same text may target, prefixes (lock, rep,
-- repe/repz, repne/repnz, bnd, notrack, xacquire, xrelease), operands as
-- lurk's ins.text prints them: registers, numbers (0x1f, -8, 12), symbols
-- (names from the table, labels, with +/- numbers), memory operands
-- "[size ptr] [seg:][base+index*scale+disp]", AVX-512 {k1} {z} {1to16}
-- {rn-sae} {sae}. In memory, "rip+0x10" is relative to the end of the
-- instruction at its own address; a symbol or "rel ADDR" names an absolute
-- target reached rip-relative from wherever the instruction is emitted.

local lpeg = require "lpeg"
local P, R, S, C, Ct, Cc, Cp, Cg, Cmt = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Ct, lpeg.Cc, lpeg.Cp, lpeg.Cg, lpeg.Cmt
local type, tonumber, error, ipairs, pairs = type, tonumber, error, ipairs, pairs
local concat, fmt = table.concat, string.format

local M = {}

-- -- Registers ------------------------------------------------------------

local REGS = {}
do
  local function add(...) for _, r in ipairs({ ... }) do REGS[r] = true end end
  for _, r in ipairs({ "ax", "bx", "cx", "dx", "si", "di", "bp", "sp" }) do add("r" .. r, "e" .. r, r) end
  add("al", "bl", "cl", "dl", "ah", "bh", "ch", "dh", "sil", "dil", "bpl", "spl")
  for i = 8, 15 do add("r" .. i, "r" .. i .. "d", "r" .. i .. "w", "r" .. i .. "b") end
  add("es", "cs", "ss", "ds", "fs", "gs", "rip", "eip", "ip")
  for i = 0, 31 do add("xmm" .. i, "ymm" .. i, "zmm" .. i) end
  for i = 0, 7 do add("k" .. i, "st" .. i, "mm" .. i, "tmm" .. i) end
  for i = 0, 15 do add("cr" .. i, "dr" .. i) end
  for i = 0, 3 do add("bnd" .. i) end
end
M.registers = REGS

local SIZES = { byte = 8, word = 16, dword = 32, fword = 48, qword = 64, tbyte = 80,
                xmmword = 128, ymmword = 256, zmmword = 512 }
local PREFIXES = { lock = "lock", rep = "rep", repe = "repe", repz = "repe", repne = "repne",
                   repnz = "repne", bnd = "bnd", notrack = "notrack", xacquire = "xacquire",
                   xrelease = "xrelease" }
local ROUND = { ["rn-sae"] = 1, ["rd-sae"] = 2, ["ru-sae"] = 3, ["rz-sae"] = 4 }

-- -- Grammar ---------------------------------------------------------------

-- A parse error: raised through lpeg.match as a table, turned into
-- "LINE:COL: msg" by M.parse.
local function expect(msg)
  return Cmt(Cp(), function(_, p) error({ col = p, msg = msg }, 0) end)
end

local sp = S" \t"^0
local sp1 = S" \t"^1
local alpha = R("az", "AZ") + S"_.$@"
local ident = alpha * (alpha + R"09")^0
local num = Cg(Cc"hex", "k") * P"0" * S"xX" * Cg(C(R("09", "af", "AF")^1), "v")
          + Cg(Cc"dec", "k") * Cg(C(R"09"^1), "v")

-- A register by name (any case), a whole identifier.
local reg = Cmt(C(ident), function(_, p, name)
  local l = name:lower()
  if REGS[l] then return p, l end
  return false
end)

-- Terms of a sum: { sign = "+"|"-", k = "hex"|"dec"|"sym"|"reg", v, scale }.
local function tm(sign)
  return Ct(Cg(sign, "sign") * sp * (
      num
    + Cg(Cc"reg", "k") * Cg(reg, "v") * (sp * "*" * sp * Cg(C(S"1248") / tonumber, "scale"))^-1
    + Cg(Cc"sym", "k") * Cg(C(ident), "v")))
end
local sum = Ct((tm(C"-") + tm(Cc"+")) * (sp * (tm(C(S"+-")) + S"+-" * expect("expected a term")))^0)

local deco = P"{" * sp * (
    Ct(Cg(Cc"mask", "k") * Cg(reg, "v"))
  + Ct(Cg(Cc"z", "k") * S"zZ")
  + Ct(Cg(Cc"bcast", "k") * P"1to" * Cg(C(R"09"^1) / tonumber, "v"))
  + Ct(Cg(Cc"round", "k") * Cg(C(S"rR" * S"nduzNDUZ" * "-" * S"sS" * S"aA" * S"eE") / string.lower, "v"))
  + Ct(Cg(Cc"sae", "k") * S"sS" * S"aA" * S"eE")
  + expect("unknown decoration")) * sp * (P"}" + expect("expected '}'"))
local decos = Cg(Ct((sp * deco)^0), "decos")

local size = Cmt(C(R("az", "AZ")^1) * sp1 * S"pP" * S"tT" * S"rR", function(_, p, w)
  local b = SIZES[w:lower()]
  if b then return p, b end
  return false
end)
local seg = Cmt(C(S"cdefgsCDEFGS" * S"sS") * sp * ":", function(_, p, s)
  s = s:lower()
  if REGS[s] then return p, s end
  return false
end)
local mem = Ct(Cg(Cc"mem", "kind") * Cg(Cp(), "col")
  * (Cg(size, "size") * sp)^-1 * (Cg(seg, "seg") * sp)^-1 * "[" * sp
  * (Cg(S"rR" * S"eE" * S"lL" * sp1 * Cc(true), "rel"))^-1
  * (Cg(sum, "terms") + expect("expected an address")) * sp * (P"]" + expect("expected ']'")) * decos)
local regop = Ct(Cg(Cc"reg", "kind") * Cg(Cp(), "col") * Cg(reg, "reg") * -(sp * S"+-*") * decos)
local immop = Ct(Cg(Cc"imm", "kind") * Cg(Cp(), "col") * Cg(sum, "terms") * decos)
local decop = Ct(Cg(Cc"deco", "kind") * Cg(Cp(), "col") * Cg(Ct((sp * deco)^1), "decos"))
local operand = mem + regop + decop + immop
local operands = Ct(operand * (sp * "," * sp * (operand + expect("expected operand")))^0)

local prefix = Cmt(C(ident) * sp1 * #alpha, function(_, p, w)
  local q = PREFIXES[w:lower()]
  if q then return p, q end
  return false
end)
local comment = P"#" * (1 - P"\n")^0
local stmt = Ct(Cg(Cp(), "col")
  * Cg(Ct((sp * C(ident) * sp * ":")^0), "labels") * sp
  * (Cg(Ct((prefix * sp)^0), "prefixes") * Cg(Cp(), "mcol") * Cg(C(ident) / string.lower, "mnemonic")
     * (sp1 * #(1 - S"#;") * (Cg(operands, "operands") + expect("expected operand")))^-1)^-1
  * sp * comment^-1)
local line = Ct(stmt * (P";" * (stmt + expect("bad statement")))^0) * (-1 + expect("unexpected text"))

-- Condition-code aliases of the Zydis names (je -> jz ...), for jcc, setcc, cmovcc.
local CC = { e = "z", ne = "nz", a = "nbe", ae = "nb", c = "b", nae = "b", nc = "nb", na = "be",
             g = "nle", ge = "nl", nge = "l", ng = "le", pe = "p", po = "np" }
local function canon(m)
  for _, pre in ipairs({ "j", "set", "cmov" }) do
    if m:sub(1, #pre) == pre then
      local cc = CC[m:sub(#pre + 1)]
      if cc then return pre .. cc end
    end
  end
  if m == "movabs" then return "mov" end
  if m == "sal" then return "shl" end
  return m
end

--- Parse text into statements { line, col, labels = {...}, prefixes,
-- mnemonic, mcol, operands = {...} } (mnemonic nil for a label-only or
-- empty statement). Raises "LINE:COL: message" (a string) on bad text.
function M.parse(text)
  local out, ln = {}, 0
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do
    ln = ln + 1
    local ok, r = pcall(lpeg.match, line, l)
    if not ok then
      if type(r) == "table" then error(fmt("%d:%d: %s", ln, r.col, r.msg), 0) end
      error(r, 0)
    end
    if not r then error(fmt("%d:1: bad statement", ln), 0) end
    for _, st in ipairs(r) do
      st.line = ln
      if st.mnemonic then st.mnemonic = canon(st.mnemonic) end
      if st.mnemonic or #st.labels > 0 then out[#out + 1] = st end
    end
  end
  return out
end

-- -- Values ----------------------------------------------------------------

local HAVE_FFI, ffi = pcall(require, "ffi")
local TWO53 = 2 ^ 53
local U0 = HAVE_FFI and ffi.new("uint64_t", 0) or 0   -- past 2^53: uint64 cdata (LuaJIT)

-- A number token's value: a Lua number, or a uint64 cdata past 2^53.
local function numval(t)
  if t.k == "hex" then
    if #t.v <= 13 then return tonumber(t.v, 16) end
    local v = U0
    for d in t.v:gmatch(".") do v = v * 16 + tonumber(d, 16) end
    return v
  end
  local n = tonumber(t.v)
  if n < TWO53 then return n end
  local v = U0
  for d in t.v:gmatch(".") do v = v * 10 + tonumber(d) end
  return v
end

local function symval(v, name)
  if type(v) == "number" or type(v) == "cdata" then return v end
  if (type(v) == "table" or type(v) == "userdata") then
    local a = v.address
    if type(a) == "number" or type(a) == "cdata" then return a end
  end
  return nil, fmt("symbol '%s' is not an address (a number, 64-bit cdata or a value with .address)", name)
end

-- -- Assembling ------------------------------------------------------------

-- An error at statement st's column col.
local function fail(st, col, msg) error({ line = st.line, col = col or st.mcol, msg = msg }, 0) end

-- Sum of the constant terms (numbers, symbols, labels); the register terms
-- in regs. Labels are looked up in labels (addresses), symbols in syms.
local function evalsum(st, op, terms, syms, labels, regs)
  local v, hassym = 0, false
  for _, t in ipairs(terms) do
    local x
    if t.k == "reg" then
      if not regs then fail(st, op.col, "register '" .. t.v .. "' in an immediate") end
      if t.sign == "-" then fail(st, op.col, "a register cannot be subtracted") end
      regs[#regs + 1] = t
    else
      if t.k == "sym" then
        if labels[t.v] then x = labels[t.v]
        elseif syms and syms[t.v] ~= nil then
          local e
          x, e = symval(syms[t.v], t.v)
          if not x then fail(st, op.col, e) end
        else fail(st, op.col, "unknown symbol '" .. t.v .. "'") end
        hassym = true
      else
        x = numval(t)
      end
      if t.sign == "-" then v = v - x else v = v + x end
    end
  end
  return v, hassym
end

local function tou64(v)
  if type(v) == "number" and v < 0 then return v end
  return v
end

-- The encoder request of statement st at address pc.
local function request(st, syms, labels, pc)
  local req = { mnemonic = st.mnemonic, prefixes = st.prefixes, operands = {} }
  local ops = req.operands
  local abs
  for _, op in ipairs(st.operands or {}) do
    local o
    if op.kind == "reg" then
      o = { kind = "reg", reg = op.reg }
    elseif op.kind == "imm" then
      o = { kind = "imm", value = (evalsum(st, op, op.terms, syms, labels, nil)) }
    elseif op.kind == "mem" then
      local regs = {}
      local disp, hassym = evalsum(st, op, op.terms, syms, labels, regs)
      o = { kind = "mem", size = op.size or 0, seg = op.seg }
      for _, r in ipairs(regs) do
        if r.scale or o.base then
          if o.index then fail(st, op.col, "too many registers in the address") end
          o.index, o.scale = r.v, r.scale or 1
        else
          o.base = r.v
        end
      end
      if op.rel or hassym then
        if (o.base and o.base ~= "rip") or o.index then
          fail(st, op.col, "a symbol or 'rel' address cannot have base or index registers")
        end
        o.base, o.absolute = "rip", true
        abs = disp
      end
      o.disp = disp
    end
    if o then ops[#ops + 1] = o end
    for _, d in ipairs(op.decos or {}) do
      if d.k == "mask" then ops[#ops + 1] = { kind = "reg", reg = d.v }
      elseif d.k == "z" then req.zeroing = true
      elseif d.k == "bcast" then req.broadcast = d.v
      elseif d.k == "round" then req.rounding = ROUND[d.v]
      elseif d.k == "sae" then req.sae = true end
    end
  end
  return req, abs
end

local function hex(v)
  if type(v) == "number" then return fmt("0x%x", v) end
  return "0x" .. require("bit").tohex(v, 16):gsub("^0+", "")
end

local function diff_ok(a, b)   -- |a - b| < 2^31 - 64, a and b numbers or cdata
  local d = a - b
  if type(d) == "cdata" then d = tonumber(ffi.cast("int64_t", d)) end
  return d > -2147483584 and d < 2147483584
end

local function assemble(text, syms, pc)
  local stmts = M.parse(text)
  local encode, decode = lurk._encode, lurk.decode
  -- pending labels attach to the next instruction; a trailing one to the end
  local insns, pend, lbl_at = {}, {}, {}
  for _, st in ipairs(stmts) do
    for _, l in ipairs(st.labels) do
      if lbl_at[l] or (syms and syms[l] ~= nil) then fail(st, st.col, "label '" .. l .. "' defined twice") end
      lbl_at[l] = true
      pend[#pend + 1] = l
    end
    if st.mnemonic then
      st.labels_here, pend = pend, {}
      insns[#insns + 1] = st
    end
  end
  if #insns == 0 then return {}, "" end
  -- default address: the first absolute target, else 0
  if pc == nil then
    pc = 0
    for _, st in ipairs(insns) do
      local zero = {}
      for l in pairs(lbl_at) do zero[l] = 0 end
      local _, abs = request(st, syms, zero, 0)
      if abs then pc = abs break end
    end
  end
  local lens = {}
  for i = 1, #insns do lens[i] = 2 end
  local bytes
  for _ = 1, 10 do
    local labels, at = {}, pc
    for i, st in ipairs(insns) do
      for _, l in ipairs(st.labels_here) do labels[l] = at end
      st.pc = at
      at = at + lens[i]
    end
    for _, l in ipairs(pend) do labels[l] = at end
    local changed, far = false, nil
    bytes = {}
    for i, st in ipairs(insns) do
      local req, abs = request(st, syms, labels, st.pc)
      -- out of reach: an error once the addresses have settled
      if abs and not diff_ok(abs, st.pc) then
        far = far or { st, "target " .. hex(abs) .. " out of ±2 GiB reach of " .. hex(st.pc) }
      else
        local b, err = encode(req, st.pc)
        if not b then
          fail(st, nil, err:match("^unknown") and err or (err .. " of '" .. st.mnemonic .. "'"))
        end
        bytes[i] = b
        if #b ~= lens[i] then lens[i], changed = #b, true end
      end
    end
    if not changed and far then fail(far[1], nil, far[2]) end
    if not changed then
      local out = {}
      for i, st in ipairs(insns) do out[i] = assert(decode(bytes[i], st.pc)) end
      return out, concat(bytes)
    end
  end
  error({ line = insns[1].line, col = 1, msg = "branch sizes do not settle" }, 0)
end

-- lurk.asm's body; where: the caller's position for errors ("" or "f:l: ").
function M._asm(text, syms, pc, where)
  if type(text) ~= "string" then
    error(where .. fmt("bad argument #1 to 'asm' (string expected, got %s)", type(text)), 0)
  end
  if syms ~= nil and type(syms) ~= "table" then
    error(where .. fmt("bad argument #2 to 'asm' (table expected, got %s)", type(syms)), 0)
  end
  if pc ~= nil and type(pc) ~= "number" and type(pc) ~= "cdata" then
    error(where .. fmt("bad argument #3 to 'asm' (number expected, got %s)", type(pc)), 0)
  end
  local ok, a, b = pcall(assemble, text, syms, pc)
  if ok then return a, b end
  if type(a) == "table" then a = fmt("%d:%d: %s", a.line, a.col, a.msg) end
  error(where .. "lurk.asm: " .. tostring(a), 0)
end

--- M.assemble(text [, syms [, pc]]): as lurk.asm.
function M.assemble(text, syms, pc)
  local info = debug.getinfo(2, "Sl")
  local where = info and info.currentline > 0 and (info.short_src .. ":" .. info.currentline .. ": ") or ""
  return M._asm(text, syms, pc, where)
end

return M
