--- lurk differential fuzzer: a random x86-64 instruction sequence as GNU as
-- text (Intel syntax), for spec/fuzz/harness.c.
--
--   lua5.4 spec/fuzz/gen.lua SEED [ITEMS] [--keep 1,4,7] [--list] [--gs]
--
-- The sequence is a list of ITEMS items (default 40); an item is one
-- instruction, or a few that must stay together (a base register set before
-- a memory operand, an indirect branch and its target). --keep emits only the
-- listed items (1-based; the same seed always draws the same items), which is
-- how run.sh minimises a mismatch. --list prints the items, one per line.
-- --gs adds rdgsbase/wrgsbase and gs: operands: off by default while lurk
-- refuses a program's use of gs (exit 125, "the app uses the gs segment";
-- issue 17 part 3 emulates it).
--
-- Output (assemble with `as` and link with `ld -Ttext=0x10000000
-- --defsym SB=0x20000000`): a header (magic, entry, instruction count,
-- instruction table, flag table, x87-pointer ranges and their count), every
-- instruction under a label, a final
-- `jmp [FZ_CTL]` to the harness's exit, the table of instruction addresses
-- (so a signal handler can skip any instruction) and a flag byte per
-- instruction (1: a trap that reports the pc after it, int3).
--
-- Memory operands stay inside the sandbox at SB (64 KiB, the stack in its top
-- 8 KiB), except in the items that fault on purpose.
--
-- Left out, with why (state that differs between two native runs, or that
-- the harness cannot restore):
--   rdtsc, rdtscp, rdpid, rdrand, rdseed  values differ from run to run
--   cpuid                                 ebx/edx hold the APIC id of the cpu the thread is on
--   syscall, int 0x80, sysenter           effects outside the process state
--   xbegin/xabort/xend, xacquire          transactions abort on interrupts: not repeatable
--   AMX (ldtilecfg...)                    needs arch_prctl(ARCH_REQ_XCOMP_PERM) first
--   popf with AC or TF                    AC makes misaligned accesses fault (CR0.AM),
--                                         TF traps every instruction (e2e covers TF)
--   rdfsbase, fs: operands                the fs base is the harness's TLS, placed by ASLR
--   wrfsbase, mov to a segment register   would break the harness's own TLS
--   (gs is free: the program's gs base is 0 natively, and lurk must show it so)

local SB = 0x20000000          -- ORDER FZ_LAYOUT: spec/fuzz/harness.h
local SB_DATA = 0xc000         -- data bytes for every operand but...
local SB_FPS, SB_FPS_END = 0xc100, 0xdf00   -- ...fnstenv/fnsave/fxsave64 images:
-- they hold the x87 FIP (once a known difference under lurk, now patched:
-- docs/decisions.md); kept apart (256 bytes past the reach of bt's bit offsets) so no other item
-- reads those bytes and carries the difference on
local FZ_CTL = 0x0ff00000
local FZ_UNMAPPED = SB + 0x11000
local FZ_RO = SB + 0x10000
local MAGIC = 0x317a7566756c

-- -- Random numbers (xorshift64*, seeded) -----------------------------------

local state
local function rnd()
  state = state ~ (state >> 12)
  state = state ~ (state << 25)
  state = state ~ (state >> 27)
  return (state * 0x2545F4914F6CDD1D) >> 11     -- 53 non-negative bits
end
local function rint(n) return rnd() % n end          -- 0..n-1
local function pick(t) return t[rint(#t) + 1] end
local function chance(n) return rint(n) == 0 end

-- -- Operands ----------------------------------------------------------------

local R64 = { "rax", "rcx", "rdx", "rbx", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" }
local R32 = { "eax", "ecx", "edx", "ebx", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d" }
local R16 = { "ax", "cx", "dx", "bx", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w" }
local R8 = { "al", "cl", "dl", "bl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b" }
local R8H = { "al", "cl", "dl", "bl", "ah", "ch", "dh", "bh" }   -- no REX: ah..bh allowed
local REGS = { [8] = R8, [16] = R16, [32] = R32, [64] = R64 }
local PTR = { [8] = "byte", [16] = "word", [32] = "dword", [64] = "qword", [80] = "tbyte",
  [128] = "xmmword", [256] = "ymmword", [512] = "zmmword" }
local CC = { "o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g" }

local function reg(bits) return pick(REGS[bits]) end
-- The same register number at another width.
local function as_width(r64, bits)
  for i, r in ipairs(R64) do if r == r64 then return REGS[bits][i] end end
end

local IMMS = { 0, 1, 2, 7, 8, 15, 16, 31, 32, 63, 64, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
  0x7fffffff, -1, -2, -0x80, -0x8000, -0x80000000 }
-- An immediate that fits a bits-wide operand (imm32 sign-extended for 64).
local function imm(bits)
  local v = chance(2) and pick(IMMS) or rint(1 << 32) - (1 << 31)
  if bits == 8 then return v & 0xff end
  if bits == 16 then return v & 0xffff end
  if bits == 32 then return v & 0xffffffff end
  return v    -- 64: a sign-extended imm32
end
local function imm8() return rint(256) end

-- A sandbox address for an access of n bytes, aligned to align (mostly).
local fps = false   -- the next operand is an x87 state image
local function sb_addr(n, align)
  local off = rint(SB_DATA - n)
  if fps then off = SB_FPS + rint(SB_FPS_END - SB_FPS - n) end
  if align and align > 1 and not chance(8) then off = off - off % align end
  return SB + off
end

-- The current item's setup lines (base and index registers of its memory
-- operands, emitted before the item) and the registers they must not use
-- (written by the item before the access).
local setup, avoid = {}, {}
-- The sandbox address of the last operand mem() made, and the byte ranges
-- that hold the x87 last-instruction pointers FIP, FOP and FDP (written by
-- fnstenv/fnsave/fxsave64): the harness hashes them apart, one field each
-- (AMD zeroes them after an engine entry: a known difference, run.sh).
local last_addr, fip_ranges = 0, {}

-- The pointer fields of a 32-bit protected-mode fnstenv/fnsave image at a:
-- FIP at 12, FOP in bytes 18-19 (its upper half of the FCS dword), FDP at 20.
local function env_ptrs(a) return { { a + 12, 4 }, { a + 18, 2 }, { a + 20, 4 } } end
local use_gs = false

-- A memory operand of `bits` size: absolute, rip-relative, or base+index*scale
-- (base and index set in `setup`). align: bytes. The second argument is unused.
local function mem(bits, _, align, nosize)
  local n = math.max(bits // 8, 1)
  local a = sb_addr(n, align or n)
  last_addr = a
  local p = nosize and "" or (PTR[bits] .. " ptr ")
  local form = rint(3)
  if form == 0 then
    return string.format("%sds:[0x%x]", p, a)   -- ds: lets EVEX decorations follow
  elseif form == 1 then
    return string.format("%s[rip + SB + 0x%x]", p, a - SB)
  else
    local base, index = pick(R64), pick(R64)
    while avoid[base] do base = pick(R64) end
    while index == base or avoid[index] do index = pick(R64) end
    local scale = pick({ 1, 2, 4, 8 })
    local idx = rint(64)
    local disp = pick({ 0, 8, -16, 0x40, -0x80 })
    setup[#setup + 1] = string.format("mov %s, %d", index, idx)
    setup[#setup + 1] = string.format("mov %s, 0x%x", base, a - idx * scale - disp)
    return string.format("%s[%s + %s*%d %s %d]", p, base, index, scale, disp < 0 and "-" or "+", math.abs(disp))
  end
end

-- -- Items: each returns a list of lines; a line starting with "!" is a trap
-- -- that reports the pc after it; "L:" lines are labels (item-local names).

local items = {}
local function add(weight, f) items[#items + 1] = { w = weight, f = f } end
local uid = 0
local function label() uid = uid + 1; return "L" .. uid end

-- General purpose ALU, both operand orders, every width.
add(12, function()
  local pre, bits = {}, pick({ 8, 16, 32, 64 })
  local op = pick({ "add", "adc", "sub", "sbb", "and", "or", "xor", "cmp", "test" })
  local r = bits == 8 and chance(3) and pick(R8H) or reg(bits)
  if r:match("h$") then for i = 8, 15 do avoid["r" .. i] = true end end   -- no REX with ah..bh
  local src = pick({ "r", "i", "m", "mr", "mi" })
  if op == "test" and src == "m" then src = "mr" end
  local src_r = (r:match("h$") and pick(R8H)) or reg(bits)
  local lk = (src == "mr" or src == "mi") and op ~= "cmp" and op ~= "test" and chance(3) and "lock " or ""
  local line
  if src == "r" then line = op .. " " .. r .. ", " .. src_r
  elseif src == "i" then line = op .. " " .. r .. ", " .. imm(bits)
  elseif src == "m" then line = op .. " " .. r .. ", " .. mem(bits, pre)
  elseif src == "mr" then line = lk .. op .. " " .. mem(bits, pre) .. ", " .. reg(bits)
  else line = lk .. op .. " " .. mem(bits, pre) .. ", " .. imm(bits) end
  pre[#pre + 1] = line
  return pre
end)

-- inc/dec/neg/not, mul/imul, and div/idiv (which often fault: #DE is SIGFPE).
add(6, function()
  local pre, bits = {}, pick({ 8, 16, 32, 64 })
  local op = pick({ "inc", "dec", "neg", "not", "mul", "imul", "div", "idiv" })
  avoid.rdx = true
  local o = chance(2) and reg(bits) or mem(bits, pre)
  if (op == "div" or op == "idiv") and chance(2) then
    pre[#pre + 1] = "xor edx, edx"
  end
  pre[#pre + 1] = (o:find("ptr") and (op == "inc" or op == "dec" or op == "neg" or op == "not") and chance(3)
    and "lock " or "") .. op .. " " .. o
  return pre
end)

-- imul two and three operands.
add(3, function()
  local pre, bits = {}, pick({ 16, 32, 64 })
  local src = chance(2) and reg(bits) or mem(bits, pre)
  if chance(2) then pre[#pre + 1] = "imul " .. reg(bits) .. ", " .. src
  else pre[#pre + 1] = "imul " .. reg(bits) .. ", " .. src .. ", " .. imm(bits) end
  return pre
end)

-- Shifts and rotates by 1, an immediate and cl; double shifts.
add(6, function()
  local pre, bits = {}, pick({ 8, 16, 32, 64 })
  local op = pick({ "shl", "shr", "sar", "rol", "ror", "rcl", "rcr", "sal" })
  avoid.rcx = true
  local o = chance(3) and mem(bits, pre) or reg(bits)
  local c = pick({ "1", tostring(imm8()), "cl", tostring(rint(bits + 2)) })
  if c == "cl" and chance(2) then table.insert(pre, 1, "mov ecx, " .. rint(80)) end
  if bits > 8 and chance(3) then
    pre[#pre + 1] = pick({ "shld", "shrd" }) .. " " .. o .. ", " .. reg(bits) .. ", " ..
      (chance(2) and "cl" or tostring(imm8()))
  else
    pre[#pre + 1] = op .. " " .. o .. ", " .. c
  end
  return pre
end)

-- bt/bts/btr/btc: register bases, and memory bases with a bounded offset.
add(4, function()
  local pre, bits = {}, pick({ 16, 32, 64 })
  local op = pick({ "bt", "bts", "btr", "btc" })
  local lk = op ~= "bt" and chance(3) and "lock " or ""
  local f = rint(3)
  if f == 0 then pre[#pre + 1] = op .. " " .. reg(bits) .. ", " .. (chance(2) and reg(bits) or tostring(imm8()))
  elseif f == 1 then pre[#pre + 1] = lk .. op .. " " .. mem(bits, pre) .. ", " .. imm8()
  else
    local r = reg(64)
    avoid[r] = true
    local m = mem(bits, pre)
    pre[#pre + 1] = "mov " .. r .. ", " .. (rint(0x800) - 0x400)   -- +-128 bytes around m
    pre[#pre + 1] = lk .. op .. " " .. m .. ", " .. as_width(r, bits)
  end
  return pre
end)

-- Bit scans and counts, BMI1/BMI2, ADX, MOVBE, CRC32.
add(5, function()
  local pre, bits = {}, pick({ 32, 64 })
  local function rm() return chance(3) and mem(bits, pre) or reg(bits) end
  local k = rint(8)
  if k == 0 then
    local b = pick({ 16, 32, 64 })
    pre[#pre + 1] = pick({ "bsf", "bsr", "lzcnt", "tzcnt", "popcnt" }) .. " " .. reg(b) .. ", " ..
      (chance(3) and mem(b, pre) or reg(b))
  elseif k == 1 then
    pre[#pre + 1] = pick({ "andn", "bextr", "bzhi", "pdep", "pext", "mulx" }) .. " " .. reg(bits) .. ", " .. reg(bits) .. ", " .. reg(bits)
  elseif k == 2 then
    pre[#pre + 1] = pick({ "sarx", "shlx", "shrx", "bextr", "bzhi" }) .. " " .. reg(bits) .. ", " .. rm() .. ", " .. reg(bits)
  elseif k == 3 then
    pre[#pre + 1] = pick({ "blsi", "blsmsk", "blsr" }) .. " " .. reg(bits) .. ", " .. rm()
  elseif k == 4 then
    pre[#pre + 1] = "rorx " .. reg(bits) .. ", " .. rm() .. ", " .. imm8()
  elseif k == 5 then
    pre[#pre + 1] = pick({ "adcx", "adox" }) .. " " .. reg(bits) .. ", " .. rm()
  elseif k == 6 then
    local b = pick({ 16, 32, 64 })
    if chance(2) then pre[#pre + 1] = "movbe " .. reg(b) .. ", " .. mem(b, pre)
    else pre[#pre + 1] = "movbe " .. mem(b, pre) .. ", " .. reg(b) end
  else
    local b = pick({ 8, 16, 32, 64 })
    pre[#pre + 1] = "crc32 " .. (b == 64 and reg(64) or reg(32)) .. ", " .. (chance(3) and mem(b, pre) or reg(b))
  end
  return pre
end)

-- setcc, cmovcc, flag instructions, lahf/sahf, pushf/popf (no TF, no AC).
add(6, function()
  local pre = {}
  local k = rint(7)
  if k == 0 then pre[#pre + 1] = "set" .. pick(CC) .. " " .. (chance(3) and mem(8, pre) or (chance(2) and pick(R8H) or reg(8)))
  elseif k == 1 then
    local b = pick({ 16, 32, 64 })
    pre[#pre + 1] = "cmov" .. pick(CC) .. " " .. reg(b) .. ", " .. (chance(3) and mem(b, pre) or reg(b))
  elseif k == 2 then pre[#pre + 1] = pick({ "lahf", "sahf", "cmc", "clc", "stc", "cld", "std", "cld" })
  elseif k == 3 then pre[#pre + 1] = "pushfq"; pre[#pre + 1] = "pop " .. reg(64)
  elseif k == 4 then
    local r = reg(64)
    pre[#pre + 1] = string.format("mov %s, 0x%x", r, 0x202 | (rnd() & 0x2008d5))  -- CF PF AF ZF SF OF DF ID
    pre[#pre + 1] = "push " .. r
    pre[#pre + 1] = "popfq"
  elseif k == 5 then pre[#pre + 1] = "pushfw"; pre[#pre + 1] = "pop " .. reg(16)
  else
    local r = reg(16)
    pre[#pre + 1] = string.format("mov %s, 0x%x", r, 0x202 | (rnd() & 0x8d5))
    pre[#pre + 1] = "push " .. r
    pre[#pre + 1] = "popfw"
  end
  return pre
end)

-- Moves: partial registers, extensions, xchg/xadd/cmpxchg, bswap, lea, push/pop.
add(8, function()
  local pre = {}
  local k = rint(10)
  if k == 0 then
    if chance(2) then pre[#pre + 1] = "mov " .. pick(R8H) .. ", " .. pick(R8H)
    else pre[#pre + 1] = "mov " .. reg(16) .. ", " .. (chance(2) and reg(16) or tostring(imm(16))) end
  elseif k == 1 then
    local d = pick({ 16, 32, 64 })
    local s = pick({ 8, 16 })
    if s >= d then s = 8 end
    local src = chance(3) and mem(s, pre) or (s == 8 and chance(2) and pick(R8H) or reg(s))
    local dst = reg(d)
    if src:match("^%ah$") then dst = REGS[d][1 + rint(7)]; if d == 64 then dst = "eax" end end
    pre[#pre + 1] = pick({ "movzx", "movsx" }) .. " " .. dst .. ", " .. src
  elseif k == 2 then pre[#pre + 1] = "movsxd " .. reg(64) .. ", " .. (chance(2) and reg(32) or mem(32, pre))
  elseif k == 3 then pre[#pre + 1] = pick({ "cbw", "cwde", "cdqe", "cwd", "cdq", "cqo" })
  elseif k == 4 then
    local b = pick({ 8, 16, 32, 64 })
    pre[#pre + 1] = "xchg " .. (chance(2) and mem(b, pre) or reg(b)) .. ", " .. reg(b)
  elseif k == 5 then
    local b = pick({ 8, 16, 32, 64 })
    local op = pick({ "xadd", "cmpxchg" })
    local m = chance(2)
    pre[#pre + 1] = (m and chance(2) and "lock " or "") .. op .. " " .. (m and mem(b, pre) or reg(b)) .. ", " .. reg(b)
  elseif k == 6 then
    if chance(2) then pre[#pre + 1] = (chance(2) and "lock " or "") .. "cmpxchg8b " .. mem(64, pre)
    else pre[#pre + 1] = (chance(2) and "lock " or "") .. "cmpxchg16b " .. mem(128, pre, 16) end
  elseif k == 7 then pre[#pre + 1] = "bswap " .. reg(pick({ 32, 64 }))
  elseif k == 8 then
    local b = pick({ 16, 32, 64 })
    pre[#pre + 1] = string.format("lea %s, [%s + %s*%d + %d]", reg(b), reg(64), reg(64), pick({ 1, 2, 4, 8 }), imm(64))
  else
    local f = rint(4)
    if f == 0 then pre[#pre + 1] = "push " .. reg(64); pre[#pre + 1] = "pop " .. reg(64)
    elseif f == 1 then pre[#pre + 1] = "push " .. imm(64); pre[#pre + 1] = "pop " .. reg(64)
    elseif f == 2 then pre[#pre + 1] = "push " .. mem(64, pre); pre[#pre + 1] = "pop " .. mem(64, pre)
    else pre[#pre + 1] = "enter " .. (rint(8) * 8) .. ", " .. rint(2); pre[#pre + 1] = "leave" end
  end
  return pre
end)

-- xlat, and movs/stos/lods/cmps/scas with and without rep, small counts, either direction.
add(5, function()
  local pre = {}
  if chance(6) then
    pre[#pre + 1] = string.format("mov rbx, 0x%x", sb_addr(256))
    pre[#pre + 1] = "xlatb"
    return pre
  end
  local w = pick({ "b", "w", "d", "q" })
  local op = pick({ "movs", "stos", "lods", "cmps", "scas" })
  pre[#pre + 1] = string.format("mov rsi, 0x%x", SB + 0x1000 + rint(0xa000))
  pre[#pre + 1] = string.format("mov rdi, 0x%x", SB + 0x1000 + rint(0xa000))
  pre[#pre + 1] = "mov ecx, " .. rint(24)
  if chance(3) then pre[#pre + 1] = pick({ "std", "cld" }) end
  local rep = ""
  if not chance(4) then
    if op == "cmps" or op == "scas" then rep = pick({ "repe ", "repne " }) else rep = "rep " end
  end
  pre[#pre + 1] = rep .. op .. w
  return pre
end)

-- Forward branches: jcc, loop*, jrcxz over one instruction.
add(4, function()
  local l = label()
  local br = chance(4) and pick({ "loop", "loope", "loopne", "jrcxz", "jecxz" }) or ("j" .. pick(CC))
  local pre = {}
  if br:match("^loop") or br:match("cxz$") then pre[#pre + 1] = "mov ecx, " .. rint(3) end
  pre[#pre + 1] = br .. " " .. l
  pre[#pre + 1] = "add " .. reg(64) .. ", " .. imm(64)
  pre[#pre + 1] = l .. ":"
  return pre
end)

-- Indirect branches to targets within the item: jmp/call through a register
-- and through memory, push+ret, ret imm16. A call's return address (an app
-- address) is popped into a register, so it is compared.
add(5, function()
  local l, r, r2 = label(), reg(64), reg(64)
  local slot = string.format("qword ptr [0x%x]", sb_addr(8, 8))
  local k = rint(7)
  local pre = { string.format("lea %s, [rip + %s]", r, l) }
  if k == 0 then pre[#pre + 1] = "jmp " .. r
  elseif k == 1 then pre[#pre + 1] = "call " .. r
  elseif k == 2 then pre[#pre + 1] = "mov " .. slot .. ", " .. r; pre[#pre + 1] = "jmp " .. slot
  elseif k == 3 then pre[#pre + 1] = "mov " .. slot .. ", " .. r; pre[#pre + 1] = "call " .. slot
  elseif k == 4 then pre[#pre + 1] = "push " .. r; pre[#pre + 1] = "ret"
  elseif k == 5 then pre[#pre + 1] = "push " .. r2; pre[#pre + 1] = "push " .. r; pre[#pre + 1] = "ret 8"
  else pre[#pre + 1] = "call " .. l end
  pre[#pre + 1] = "ud2"
  pre[#pre + 1] = l .. ":"
  if k == 1 or k == 3 or k == 6 then pre[#pre + 1] = "pop " .. r2 end
  return pre
end)

-- Loops and real subroutines inside an item: a counted loop (a block run
-- again, linked to itself), call/ret pairs (ret through the return-address
-- lookup), a two-way indirect jump through a table in the sandbox.
add(4, function()
  local pre = {}
  local k = rint(3)
  local simple = { "add", "xor", "imul", "rol", "adc", "sub" }
  local r = reg(64)
  while r == "rcx" do r = reg(64) end
  local body = pick(simple) .. " " .. r .. ", " .. (pick(simple) == "rol" and "3" or reg(64):gsub("rcx", "rdx"))
  body = body:gsub("^rol (%w+), (%w+)$", "rol %1, 5"):gsub("^imul (%w+), (%w+)$", "imul %1, %2")
  if k == 0 then
    local l = label()
    pre[#pre + 1] = "mov ecx, " .. (1 + rint(20))
    pre[#pre + 1] = l .. ":"
    pre[#pre + 1] = body
    pre[#pre + 1] = pick({ "dec ecx", "sub rcx, 1" })
    pre[#pre + 1] = "jnz " .. l
  elseif k == 1 then
    local sub, over = label(), label()
    pre[#pre + 1] = "call " .. sub
    pre[#pre + 1] = "call " .. sub
    pre[#pre + 1] = "jmp " .. over
    pre[#pre + 1] = sub .. ":"
    pre[#pre + 1] = body
    pre[#pre + 1] = "ret"
    pre[#pre + 1] = over .. ":"
  else
    local a, b, over = label(), label(), label()
    local slot = sb_addr(16, 8)
    local t = reg(64)
    while t == r do t = reg(64) end
    pre[#pre + 1] = string.format("lea %s, [rip + %s]", t, a)
    pre[#pre + 1] = string.format("mov qword ptr [0x%x], %s", slot, t)
    pre[#pre + 1] = string.format("lea %s, [rip + %s]", t, b)
    pre[#pre + 1] = string.format("mov qword ptr [0x%x], %s", slot + 8, t)
    pre[#pre + 1] = string.format("mov %s, %s", t, reg(64))
    pre[#pre + 1] = "and " .. t .. ", 1"
    pre[#pre + 1] = string.format("jmp qword ptr [%s*8 + 0x%x]", t, slot)
    pre[#pre + 1] = "ud2"
    pre[#pre + 1] = a .. ":"
    pre[#pre + 1] = body
    pre[#pre + 1] = "jmp " .. over
    pre[#pre + 1] = b .. ":"
    pre[#pre + 1] = "not " .. r
    pre[#pre + 1] = over .. ":"
  end
  return pre
end)

-- Faulting instructions: each raises a signal the harness records and skips.
add(3, function()
  local pre = {}
  local k = rint(14)
  if k == 0 then pre[#pre + 1] = "ud2"
  elseif k == 1 then pre[#pre + 1] = string.format("mov %s, qword ptr [0x%x]", reg(64), FZ_UNMAPPED + rint(0x1000))
  elseif k == 2 then pre[#pre + 1] = string.format("mov dword ptr [0x%x], %s", FZ_RO + rint(0xffc), reg(32))
  elseif k == 3 then pre[#pre + 1] = "xor ecx, ecx"; pre[#pre + 1] = pick({ "div", "idiv" }) .. " " .. pick({ "ecx", "rcx", "cl", "cx" })
  elseif k == 4 then pre[#pre + 1] = "!int3"
  elseif k == 5 then pre[#pre + 1] = "!int 3"
  elseif k == 6 then pre[#pre + 1] = "hlt"
  elseif k == 7 then pre[#pre + 1] = "cli"
  elseif k == 8 then pre[#pre + 1] = ".byte 0xce"                       -- into: #UD in 64-bit mode
  elseif k == 9 then pre[#pre + 1] = ".byte 0xf0, 0x01, 0xc0"           -- lock add eax, eax: #UD
  elseif k == 10 then
    local r = reg(64)
    pre[#pre + 1] = "mov " .. r .. ", 0x8000000000001000"              -- non-canonical: #GP
    pre[#pre + 1] = "mov " .. reg(32) .. ", dword ptr [" .. r .. "]"
  elseif k == 11 then pre[#pre + 1] = string.format("movaps xmm%d, xmmword ptr [0x%x]", rint(16), SB + 16 * rint(0xd00) + 4)
  elseif k == 12 then pre[#pre + 1] = string.format("mov %s, qword ptr [rip + SB + 0x%x]", reg(64), FZ_UNMAPPED - SB + 8 * rint(0x100))
  else pre[#pre + 1] = "mov rax, 0x8000000000000000"; pre[#pre + 1] = "cqo"; pre[#pre + 1] = "mov rcx, -1"; pre[#pre + 1] = "idiv rcx" end
  return pre
end)

-- The gs segment (base 0 natively; lurk uses its own and must hide it),
-- xgetbv, address-size prefixes, fences, hints and long nops, invalid opcodes.
add(4, function()
  local pre = {}
  local k = rint(12)
  if k <= 2 and not use_gs then k = 3 + rint(9) end
  if k == 0 then pre[#pre + 1] = "rdgsbase " .. reg(pick({ 32, 64 }))
  elseif k == 1 then
    local b = pick({ 8, 16, 32, 64 })
    if chance(2) then pre[#pre + 1] = string.format("mov %s, %s ptr gs:[0x%x]", reg(b), PTR[b], sb_addr(b // 8))
    else pre[#pre + 1] = string.format("add %s ptr gs:[0x%x], %s", PTR[b], sb_addr(b // 8), reg(b)) end
  elseif k == 2 then
    -- a gs base in the sandbox for two accesses, then back to 0
    local r, r2 = reg(64), reg(64)
    while r2 == r do r2 = reg(64) end
    pre[#pre + 1] = string.format("mov %s, 0x%x", r, SB + 0x100 * rint(0xb0))
    pre[#pre + 1] = "wrgsbase " .. r
    pre[#pre + 1] = string.format("mov %s, qword ptr gs:[0x%x]", r2, 8 * rint(32))
    pre[#pre + 1] = string.format("mov qword ptr gs:[rip + SB + 0x%x], %s", 8 * rint(32), r2)  -- gs + rip-relative
    pre[#pre + 1] = "rdgsbase " .. r2
    pre[#pre + 1] = "xor " .. as_width(r, 32) .. ", " .. as_width(r, 32)
    pre[#pre + 1] = "wrgsbase " .. r
  elseif k == 3 then pre[#pre + 1] = "xor ecx, ecx"; pre[#pre + 1] = "xgetbv"
  elseif k == 4 then
    -- address-size prefix: esi/edi/ecx (the sandbox is below 4 GiB)
    pre[#pre + 1] = string.format("mov esi, 0x%x", SB + 0x1000 + rint(0xa000))
    pre[#pre + 1] = string.format("mov edi, 0x%x", SB + 0x1000 + rint(0xa000))
    pre[#pre + 1] = "mov ecx, " .. rint(16)
    pre[#pre + 1] = "addr32 rep " .. pick({ "movsb", "stosd", "movsq" })
  elseif k == 5 then
    local r = reg(64)
    pre[#pre + 1] = string.format("mov %s, 0x%x", r, sb_addr(64))
    pre[#pre + 1] = string.format("lea %s, [%s]", reg(32), as_width(r, 32)):gsub("%[(%w+)%]", "[%1 + 0]")
    pre[#pre + 1] = string.format("mov %s, dword ptr [%s]", reg(32), as_width(r, 32))     -- addr32 operand
  elseif k == 6 then pre[#pre + 1] = pick({ "lfence", "mfence", "sfence", "pause", "serialize", "endbr64", "nop",
      "nop dword ptr [rax + rax*1 + 0]", "nop word ptr cs:[rax + rax*1 + 0]", "xchg ax, ax", "fwait" })
  elseif k == 7 then pre[#pre + 1] = pick({ "clflush", "clflushopt", "clwb", "prefetcht0", "prefetchnta", "prefetchw", "cldemote" }) .. " " .. mem(8, pre, 1, true)
  elseif k == 8 then
    local r = reg(64)
    avoid[r] = true
    local m = mem(512, pre, 64, true)
    pre[#pre + 1] = string.format("mov %s, 0x%x", r, sb_addr(64, 64))
    pre[#pre + 1] = "movdir64b " .. r .. ", " .. m     -- 64 bytes from m to [r]
  elseif k == 9 then pre[#pre + 1] = "movdiri " .. mem(pick({ 32, 64 }), pre, 8) .. ", " .. reg(64):gsub("^", "")
    if pre[#pre]:match("^movdiri dword") then pre[#pre] = pre[#pre]:gsub(", (%w+)$", function() return ", " .. reg(32) end) end
  elseif k == 10 then pre[#pre + 1] = pick({ ".byte 0x37", ".byte 0x27", ".byte 0x62, 0xc0", ".byte 0x0f, 0x0b",
      ".byte 0xc4, 0xe2, 0x7d, 0x18, 0xc0", ".byte 0x0f, 0xb9, 0xc0", ".byte 0xf3, 0x0f, 0x1e, 0xff" })  -- aaa, daa, bound, ud2, vbroadcastss ymm0 with W0 L1 (valid), ud1, hint nop
  else
    pre[#pre + 1] = pick({ "push", "pop" }) == "push" and ("push " .. reg(16)) or ("pushw " .. imm(16))
    pre[#pre + 1] = "pop " .. reg(16)
  end
  return pre
end)

-- Unmasked floating-point exceptions: SIGFPE from SSE (#XM, at the
-- instruction) and from x87 (#MF, pending until the next waiting x87
-- instruction), then the masks and flags put back.
add(2, function()
  local pre = {}
  local m = mem(32, pre, 4)
  if chance(2) then
    local z, a = "xmm" .. rint(16), "xmm" .. rint(16)
    while a == z do a = "xmm" .. rint(16) end
    pre[#pre + 1] = string.format("mov %s, 0x%x", m, 0x1f80 & ~pick({ 0x200, 0x80, 0x280 }))   -- ZM, IM
    pre[#pre + 1] = "ldmxcsr " .. m
    pre[#pre + 1] = "xorps " .. z .. ", " .. z
    pre[#pre + 1] = pick({ "divss", "divps", "divsd", "sqrtps" }) .. " " .. a .. ", " .. z
    pre[#pre + 1] = string.format("mov %s, 0x1f80", m)
    pre[#pre + 1] = "ldmxcsr " .. m
  else
    local w = m:gsub("^dword", "word")
    pre[#pre + 1] = string.format("mov %s, 0x%x", w, 0x37f & ~pick({ 0x4, 0x1, 0x5 }))     -- ZM, IM
    pre[#pre + 1] = "fldcw " .. w
    pre[#pre + 1] = "fldz"
    pre[#pre + 1] = "fld1"
    pre[#pre + 1] = "fdiv st, st(1)"
    pre[#pre + 1] = pick({ "fwait", "fld st(0)", "fadd st, st(0)" })   -- the pending #MF is raised here
    pre[#pre + 1] = "fnclex"
    pre[#pre + 1] = string.format("mov %s, 0x37f", w)
    pre[#pre + 1] = "fldcw " .. w
  end
  return pre
end)

-- -- x87 --------------------------------------------------------------------

add(6, function()
  local pre = {}
  local i = rint(8)
  local k = rint(12)
  if k == 0 then pre[#pre + 1] = pick({ "fld st(" .. i .. ")", "fld1", "fldz", "fldpi", "fldl2e", "fldln2", "fldlg2", "fldl2t" })
  elseif k == 1 then
    local b = pick({ 32, 64, 80 })
    pre[#pre + 1] = "fld " .. mem(b, pre)
  elseif k == 2 then pre[#pre + 1] = "fild " .. mem(pick({ 16, 32, 64 }), pre)
  elseif k == 3 then
    local op = pick({ "fadd", "fsub", "fsubr", "fmul", "fdiv", "fdivr" })
    local f = rint(4)
    if f == 0 then pre[#pre + 1] = op .. " st, st(" .. i .. ")"
    elseif f == 1 then pre[#pre + 1] = op .. " st(" .. i .. "), st"
    elseif f == 2 then pre[#pre + 1] = op .. "p st(" .. i .. "), st"
    else pre[#pre + 1] = op .. " " .. mem(pick({ 32, 64 }), pre) end
  elseif k == 4 then pre[#pre + 1] = "fi" .. pick({ "add", "sub", "mul", "div", "subr", "divr" }) .. " " .. mem(pick({ 16, 32 }), pre)
  elseif k == 5 then
    pre[#pre + 1] = pick({ "fchs", "fabs", "fsqrt", "frndint", "fscale", "fprem", "fprem1", "fxtract",
      "f2xm1", "fyl2x", "fyl2xp1", "fpatan", "fptan", "fsin", "fcos", "fsincos", "fxam", "ftst",
      "fincstp", "fdecstp", "fnclex", "fwait", "fnop" })
  elseif k == 6 then pre[#pre + 1] = pick({ "fxch", "fcom", "fcomp", "fucom", "fucomp", "ffree" }) .. " st(" .. i .. ")"
  elseif k == 7 then pre[#pre + 1] = pick({ "fcomi", "fucomi", "fcomip", "fucomip" }) .. " st, st(" .. i .. ")"
  elseif k == 8 then pre[#pre + 1] = "fcmov" .. pick({ "b", "e", "be", "u", "nb", "ne", "nbe", "nu" }) .. " st, st(" .. i .. ")"
  elseif k == 9 then
    local f = rint(4)
    if f == 0 then pre[#pre + 1] = pick({ "fst", "fstp" }) .. " " .. mem(pick({ 32, 64 }), pre)
    elseif f == 1 then pre[#pre + 1] = "fstp " .. mem(80, pre)
    elseif f == 2 then pre[#pre + 1] = pick({ "fist", "fistp", "fisttp" }) .. " " .. mem(pick({ 16, 32 }), pre)
    else pre[#pre + 1] = pick({ "fistp", "fisttp" }) .. " " .. mem(64, pre) end
  elseif k == 10 then
    local f = rint(5)
    if f == 0 then pre[#pre + 1] = "fnstsw ax"
    elseif f == 1 then pre[#pre + 1] = "fnstsw " .. mem(16, pre)
    elseif f == 2 then pre[#pre + 1] = "fnstcw " .. mem(16, pre)
    elseif f == 3 then
      local m = mem(16, pre)
      pre[#pre + 1] = string.format("mov %s, 0x%x", m, 0x3f | (rint(4) << 8) | (rint(4) << 10))
      pre[#pre + 1] = "fldcw " .. m
    else
      fps = true
      pre[#pre + 1] = "fnstenv " .. mem(224, pre, 4, true)
      fps = false
      pre.fip = env_ptrs(last_addr)
    end
  else
    fps = true
    if chance(3) then
      -- fnsave stores the whole x87 state (FIP at 12) and reinitialises it
      pre[#pre + 1] = "fnsave " .. mem(864, pre, 4, true)
      pre.fip = env_ptrs(last_addr)
    else
      pre[#pre + 1] = "fxsave64 " .. mem(4096, pre, 16, true)
      -- FOP at 6, FIP at 8, FDP at 16
      pre.fip = { { last_addr + 6, 2 }, { last_addr + 8, 8 }, { last_addr + 16, 8 } }
    end
    fps = false
  end
  return pre
end)

-- -- SSE .. AVX2 ----------------------------------------------------------

local SSE_PS = { "addps", "subps", "mulps", "divps", "minps", "maxps", "andps", "andnps", "orps", "xorps",
  "addpd", "subpd", "mulpd", "divpd", "minpd", "maxpd", "unpcklps", "unpckhps", "unpcklpd", "unpckhpd",
  "sqrtps", "sqrtpd", "rcpps", "rsqrtps", "addsubps", "haddps", "hsubpd", "cvtps2pd", "cvtpd2ps",
  "cvtdq2ps", "cvtps2dq", "cvttps2dq", "cvtdq2pd", "cvttpd2dq", "movshdup", "movsldup", "movddup" }
local SSE_PI = { "paddb", "paddw", "paddd", "paddq", "psubb", "psubw", "psubd", "psubq", "paddsb", "paddusw",
  "psubsw", "psubusb", "pmullw", "pmulhw", "pmulhuw", "pmuludq", "pmaddwd", "psadbw", "pand", "pandn", "por",
  "pxor", "pcmpeqb", "pcmpeqw", "pcmpeqd", "pcmpgtb", "pcmpgtw", "pcmpgtd", "punpcklbw", "punpckhwd",
  "punpckldq", "punpckhqdq", "packsswb", "packuswb", "packssdw", "pavgb", "pavgw", "pminub", "pmaxsw",
  "pshufb", "phaddw", "phsubd", "pmaddubsw", "pmulhrsw", "psignb", "pabsd", "pmulld", "pminsd", "pmaxud",
  "pcmpeqq", "pcmpgtq", "packusdw", "pmuldq", "pminsb", "pmaxuw", "phminposuw", "pmovsxbw", "pmovzxwd",
  "aesenc", "aesenclast", "aesdec", "aesimc", "sha1msg1", "sha1nexte", "sha256msg1", "sha256msg2",
  "psllw", "psrld", "psraw", "psrlq", "gf2p8mulb" }
local SSE_SS = { "addss", "subss", "mulss", "divss", "minss", "maxss", "sqrtss", "rcpss", "rsqrtss",
  "cvtss2sd", "comiss", "ucomiss" }
local SSE_SD = { "addsd", "subsd", "mulsd", "divsd", "minsd", "maxsd", "sqrtsd", "cvtsd2ss", "comisd", "ucomisd" }
local SSE_I8 = { "shufps", "shufpd", "pshufd", "pshufhw", "pshuflw", "palignr", "pblendw", "blendps",
  "blendpd", "dpps", "dppd", "mpsadbw", "roundps", "roundpd", "pclmulqdq", "aeskeygenassist",
  "sha1rnds4", "pcmpestri", "pcmpestrm", "pcmpistri", "pcmpistrm", "cmpps", "cmppd", "gf2p8affineqb", }

local function xmm() return "xmm" .. rint(16) end
local function xrm(pre, bits, align)
  return chance(3) and mem(bits or 128, pre, align) or xmm()
end

add(12, function()
  local pre = {}
  local k = rint(10)
  if k == 0 then
    local op = pick(SSE_PS)
    local half = op == "cvtps2pd" or op == "cvtdq2pd" or op == "movddup"
    pre[#pre + 1] = op .. " " .. xmm() .. ", " .. xrm(pre, half and 64 or 128)
  elseif k <= 2 then
    local op = pick(SSE_PI)
    pre[#pre + 1] = op .. " " .. xmm() .. ", " .. (op:match("^pmov") and xmm() or xrm(pre))
  elseif k == 3 then pre[#pre + 1] = pick(SSE_SS) .. " " .. xmm() .. ", " .. xrm(pre, 32)
  elseif k == 4 then pre[#pre + 1] = pick(SSE_SD) .. " " .. xmm() .. ", " .. xrm(pre, 64)
  elseif k == 5 and chance(12) then pre[#pre + 1] = "insertps " .. xmm() .. ", " .. xrm(pre, 32) .. ", " .. imm8()
  elseif k == 5 then pre[#pre + 1] = pick(SSE_I8) .. " " .. xmm() .. ", " .. xrm(pre) .. ", " .. imm8()
  elseif k == 6 then
    local f = rint(10)
    if f == 0 then pre[#pre + 1] = chance(2) and ("movq " .. xmm() .. ", " .. reg(64)) or ("movd " .. xmm() .. ", " .. reg(32))
    elseif f == 1 then pre[#pre + 1] = "movq " .. reg(64) .. ", " .. xmm()
    elseif f == 2 then pre[#pre + 1] = "pmovmskb " .. reg(32) .. ", " .. xmm()
    elseif f == 3 then pre[#pre + 1] = pick({ "movmskps", "movmskpd" }) .. " " .. reg(32) .. ", " .. xmm()
    elseif f == 4 then pre[#pre + 1] = pick({ "cvtsi2sd", "cvtsi2ss" }) .. " " .. xmm() .. ", " .. reg(pick({ 32, 64 }))
    elseif f == 5 then pre[#pre + 1] = pick({ "cvttsd2si", "cvtsd2si" }) .. " " .. reg(pick({ 32, 64 })) .. ", " .. xmm()
    elseif f == 6 then pre[#pre + 1] = pick({ "pextrb", "pextrd", "pextrw" }) .. " " .. reg(32) .. ", " .. xmm() .. ", " .. imm8()
    elseif f == 7 then pre[#pre + 1] = pick({ "pinsrb", "pinsrd", "pinsrw" }) .. " " .. xmm() .. ", " .. reg(32) .. ", " .. imm8()
    elseif f == 8 then pre[#pre + 1] = pick({ "ptest", "pblendvb", "blendvps", "sha256rnds2" }) .. " " .. xmm() .. ", " .. xrm(pre)
    else pre[#pre + 1] = pick({ "psllq", "psrad", "psrldq", "pslldq", "psrlw" }) .. " " .. xmm() .. ", " .. imm8() end
  elseif k == 7 then
    local f = rint(6)
    if f == 0 then pre[#pre + 1] = pick({ "movaps", "movapd", "movdqa" }) .. " " .. xmm() .. ", " .. xrm(pre, 128, 16)
    elseif f == 1 then pre[#pre + 1] = pick({ "movaps", "movdqa", "movntdq" }) .. " " .. mem(128, pre, 16) .. ", " .. xmm()
    elseif f == 2 then pre[#pre + 1] = pick({ "movups", "movdqu", "lddqu" }) .. " " .. xmm() .. ", " .. mem(128, pre, 1)
    elseif f == 3 then pre[#pre + 1] = pick({ "movups", "movdqu" }) .. " " .. mem(128, pre, 1) .. ", " .. xmm()
    elseif f == 4 then pre[#pre + 1] = pick({ "movss", "movd" }) .. " " .. (chance(2) and (xmm() .. ", " .. mem(32, pre)) or (mem(32, pre) .. ", " .. xmm()))
    else pre[#pre + 1] = pick({ "movsd", "movq", "movlps", "movhps" }) .. " " .. (chance(2) and (xmm() .. ", " .. mem(64, pre)) or (mem(64, pre) .. ", " .. xmm())) end
  elseif k == 8 then
    local f = rint(4)
    if f == 0 then pre[#pre + 1] = "ldmxcsr " .. mem(32, pre); table.insert(pre, #pre, string.format("mov %s, 0x%x", pre[#pre]:match("ldmxcsr (.*)"), 0x1f80 | (rint(4) << 13) | (rint(2) << 15) | (rint(2) << 6)))
    elseif f == 1 then pre[#pre + 1] = "stmxcsr " .. mem(32, pre)
    elseif f == 2 then pre[#pre + 1] = "maskmovdqu " .. xmm() .. ", " .. xmm(); table.insert(pre, 1, string.format("mov rdi, 0x%x", sb_addr(16)))
    else pre[#pre + 1] = "movq2dq " .. xmm() .. ", mm" .. rint(8) end
  else
    local op = pick({ "roundss", "roundsd", "cmpss", "cmpsd", "pextrq", "pinsrq" })
    if op == "pextrq" then pre[#pre + 1] = "pextrq " .. reg(64) .. ", " .. xmm() .. ", " .. rint(2)
    elseif op == "pinsrq" then pre[#pre + 1] = "pinsrq " .. xmm() .. ", " .. reg(64) .. ", " .. rint(2)
    else pre[#pre + 1] = op .. " " .. xmm() .. ", " .. xrm(pre, op:match("s$") and 32 or 64) .. ", " .. rint(8) end
  end
  return pre
end)

local AVX3 = { "vaddps", "vsubpd", "vmulps", "vdivpd", "vminps", "vmaxpd", "vandps", "vxorpd", "vorps",
  "vpaddb", "vpaddd", "vpsubq", "vpmullw", "vpmulld", "vpand", "vpandn", "vpor", "vpxor", "vpcmpeqb",
  "vpcmpgtq", "vpshufb", "vpunpcklbw", "vpunpckhdq", "vpackusdw", "vpmaddwd", "vpavgb", "vpminud",
  "vpmaxsb", "vpsllvd", "vpsrlvq", "vpsravd", "vpermd", "vpermps", "vhaddps", "vaddsubpd", "vunpcklps",
  "vfmadd132ps", "vfmadd213pd", "vfmadd231ps", "vfmsub231pd", "vfnmadd213ps", "vfmaddsub231ps",
  "vpsadbw", "vpsignw", "vpmaddubsw", "vaesenc", "vaesdeclast", "vgf2p8mulb", "vpdpbusd", "vpdpwssds",
  "vpsllw", "vpsrad" }
local AVX3I = { "vshufps", "vpalignr", "vblendps", "vpblendd", "vdpps", "vmpsadbw", "vperm2i128",
  "vperm2f128", "vcmpps", "vcmppd", "vpclmulqdq", "vgf2p8affineqb", "vinsertf128x", "vinserti128x" }
local AVX2 = { "vsqrtps", "vrcpps", "vmovshdup", "vcvtdq2ps", "vcvttps2dq", "vpabsb", "vpbroadcastb",
  "vpbroadcastd", "vpbroadcastq", "vbroadcastss", "vptest", "vtestps", "vpmovsxbw", "vpmovzxdq",
  "vcvtph2ps", "vmovdqa", "vmovdqu", "vmovups" }

-- A vex register of width bits (128 or 256).
local function vreg(bits) return (bits == 256 and "ymm" or "xmm") .. rint(16) end

add(10, function()
  local pre = {}
  local b = pick({ 128, 256 })
  local function rm(bits, align) return chance(3) and mem(bits or b, pre, align or 1) or vreg(bits or b) end
  local k = rint(8)
  if k <= 2 then
    local op = pick(AVX3)
    if op == "vpermd" or op == "vpermps" then b = 256 end
    if op == "vpsllw" or op == "vpsrad" then pre[#pre + 1] = op .. " " .. vreg(b) .. ", " .. vreg(b) .. ", " .. vreg(128)
    else pre[#pre + 1] = op .. " " .. vreg(b) .. ", " .. vreg(b) .. ", " .. rm() end
  elseif k == 3 then
    local op = pick(AVX3I)
    if op:match("^vperm2") then b = 256 end
    if op:match("x$") then
      pre[#pre + 1] = op:sub(1, -2) .. " " .. vreg(256) .. ", " .. vreg(256) .. ", " .. rm(128) .. ", " .. rint(2)
    else
      pre[#pre + 1] = op .. " " .. vreg(b) .. ", " .. vreg(b) .. ", " .. rm() .. ", " .. (op:match("cmp") and rint(32) or imm8())
    end
  elseif k == 4 then
    local op = pick(AVX2)
    local src
    if op:match("broadcast") then src = chance(2) and vreg(128) or mem(op:match("b$") and 8 or op:match("q$") and 64 or 32, pre)
    elseif op:match("vpmov") or op == "vcvtph2ps" then src = chance(2) and vreg(128) or mem(b // 2, pre)
    else src = rm() end
    pre[#pre + 1] = op .. " " .. vreg(b) .. ", " .. src
  elseif k == 5 then
    local f = rint(6)
    if f == 0 then pre[#pre + 1] = "vpermq " .. vreg(256) .. ", " .. rm(256) .. ", " .. imm8()
    elseif f == 1 then pre[#pre + 1] = pick({ "vextracti128", "vextractf128" }) .. " " .. (chance(2) and vreg(128) or mem(128, pre)) .. ", " .. vreg(256) .. ", " .. rint(2)
    elseif f == 2 then pre[#pre + 1] = pick({ "vpblendvb", "vblendvps" }) .. " " .. vreg(b) .. ", " .. vreg(b) .. ", " .. rm() .. ", " .. vreg(b)
    elseif f == 3 then pre[#pre + 1] = pick({ "vzeroupper", "vzeroall" })
    elseif f == 4 then pre[#pre + 1] = pick({ "vmovmskps", "vpmovmskb" }) .. " " .. reg(32) .. ", " .. vreg(b)
    else pre[#pre + 1] = "vcvtps2ph " .. (chance(2) and vreg(128) or mem(b // 2, pre)) .. ", " .. vreg(b) .. ", " .. rint(8) end
  elseif k == 6 then
    -- masked moves and gathers, indices bounded to the sandbox
    if chance(2) then
      local m = mem(b, pre, 1)
      if chance(2) then pre[#pre + 1] = pick({ "vmaskmovps", "vpmaskmovd" }) .. " " .. vreg(b) .. ", " .. vreg(b) .. ", " .. m
      else pre[#pre + 1] = pick({ "vmaskmovps", "vpmaskmovq" }) .. " " .. m .. ", " .. vreg(b) .. ", " .. vreg(b) end
    else
      local regs = {}
      while #regs < 3 do
        local n = rint(16)
        local dup = false
        for _, x in ipairs(regs) do if x == n then dup = true end end
        if not dup then regs[#regs + 1] = n end
      end
      local x = b == 256 and "ymm" or "xmm"
      local base = reg(64)
      pre[#pre + 1] = string.format("vpsrld %s%d, %s%d, 22", x, regs[2], x, regs[2])   -- index < 1024
      pre[#pre + 1] = string.format("mov %s, 0x%x", base, SB + 0x100)
      pre[#pre + 1] = string.format("%s %s%d, [%s + %s%d*%d], %s%d", pick({ "vpgatherdd", "vgatherdps" }),
        x, regs[1], base, x, regs[2], pick({ 1, 2, 4, 8 }), x, regs[3])
    end
  else
    local f = rint(4)
    if f == 0 then pre[#pre + 1] = "vmovd " .. vreg(128) .. ", " .. reg(32)
    elseif f == 1 then pre[#pre + 1] = "vmovq " .. reg(64) .. ", " .. vreg(128)
    elseif f == 2 then pre[#pre + 1] = pick({ "vpextrd", "vpinsrd" }) == "vpextrd" and ("vpextrd " .. reg(32) .. ", " .. vreg(128) .. ", " .. rint(4)) or ("vpinsrd " .. vreg(128) .. ", " .. vreg(128) .. ", " .. reg(32) .. ", " .. rint(4))
    else pre[#pre + 1] = pick({ "vaddss", "vfmadd231sd", "vsqrtsd", "vcvtss2sd" }) .. " " .. vreg(128) .. ", " .. vreg(128) .. ", " .. vreg(128) end
  end
  return pre
end)

-- -- AVX-512 (F, BW, DQ, VL, CD, VBMI, VBMI2, VNNI, IFMA, BITALG, VPOPCNTDQ, BF16, FP16, GFNI, VAES)

local E3 = { "vaddps", "vsubpd", "vmulps", "vdivpd", "vminps", "vmaxpd", "vpaddd", "vpaddq", "vpsubb",
  "vpmullq", "vpmulld", "vpandd", "vpandnq", "vpord", "vpxorq", "vpmaxsq", "vpminuq", "vpsllvw",
  "vpsravq", "vpermd", "vpermw", "vpermb", "vpermt2d", "vpermi2q", "vpermt2b", "vfmadd231ps",
  "vfnmsub213pd", "vscalefps", "vpmadd52luq", "vpmadd52huq", "vpdpbusd", "vpdpwssd", "vpshldvd",
  "vpshrdvq", "vpmultishiftqb", "vcvtne2ps2bf16", "vdpbf16ps", "vaddph", "vmulph", "vfmadd231ph",
  "vgf2p8mulb", "vaesenc", "vpclmulqdq#", "vprolvd", "vprorvq", "vpshufb", "vpunpcklqdq", "vpackssdw",
  "vrangeps#", "vpternlogd#", "vpternlogq#", "vshufi64x2#", "vshuff32x4#", "valignd#", "vpshldd#", "vdbpsadbw#" }
local E2 = { "vpabsq", "vpopcntd", "vpopcntq", "vpopcntb", "vpopcntw", "vplzcntd", "vpconflictd",
  "vrcp14ps", "vrsqrt14pd", "vgetexpps", "vcvtps2qq", "vcvtuqq2pd", "vcvttpd2uqq", "vcvtps2udq",
  "vsqrtph", "vrcpph", "vmovdqu8", "vmovdqu16", "vmovdqu32", "vmovdqu64", "vmovapd",
  "vpbroadcastd", "vpexpandd", "vpexpandb", "vexpandps", "vpcompressd", "vpcompressw", "vcompresspd",
  "vgetmantps#0", "vreduceps#0", "vrndscalepd#0", "vfixupimmps#1", "vfpclassps#2" }

local function zreg(bits) return (bits == 512 and "zmm" or bits == 256 and "ymm" or "xmm") .. rint(32) end
local function kmask() return chance(3) and "" or ("{k" .. (1 + rint(7)) .. "}" .. (chance(2) and "{z}" or "")) end

add(10, function()
  local pre = {}
  local b = pick({ 128, 256, 512, 512 })
  local k = rint(6)
  local function rm(bits) return chance(3) and mem(bits or b, pre, 1) or zreg(bits or b) end
  if k <= 1 then
    local op = pick(E3)
    local i8 = op:match("#$")
    op = i8 and op:sub(1, -2) or op
    if op == "vpermd" or op == "vshufi64x2" or op == "vshuff32x4" then b = b == 128 and 256 or b end
    local src
    if op:match("ps$") and chance(4) then src = mem(32, pre, 4, true):gsub("^", "dword ptr ") .. "{1to" .. (b // 32) .. "}"
    elseif op:match("pd$") and chance(4) then src = mem(64, pre, 8, true):gsub("^", "qword ptr ") .. "{1to" .. (b // 64) .. "}"
    else src = rm() end
    if op == "vpclmulqdq" or op == "vaesenc" or op == "vgf2p8mulb" then
      pre[#pre + 1] = op .. " " .. zreg(b) .. ", " .. zreg(b) .. ", " .. rm() .. (i8 and (", " .. imm8()) or "")
    else
      pre[#pre + 1] = op .. " " .. zreg(b) .. kmask() .. ", " .. zreg(b) .. ", " .. src .. (i8 and (", " .. (op == "vrangeps" and rint(16) or imm8())) or "")
    end
  elseif k == 2 then
    local op = pick(E2)
    local o, i = op:match("^(.-)#(%d)$")
    if o then op, i = o, tonumber(i) end
    if op:match("^vpcompress") or op:match("^vcompress") then
      pre[#pre + 1] = op .. " " .. (chance(2) and zreg(b) or mem(b, pre, 1)) .. kmask():gsub("{z}", "") .. ", " .. zreg(b)
    elseif op == "vpbroadcastd" then
      pre[#pre + 1] = op .. " " .. zreg(b) .. kmask() .. ", " .. (chance(2) and reg(32) or zreg(128))
    elseif op == "vcvtps2qq" or op == "vcvtps2udq" and false then
      pre[#pre + 1] = op .. " " .. zreg(b) .. kmask() .. ", " .. zreg(b == 128 and 128 or b // 2)
    elseif i == 1 then
      pre[#pre + 1] = op .. " " .. zreg(b) .. kmask() .. ", " .. zreg(b) .. ", " .. rm() .. ", " .. imm8()
    elseif i == 2 then
      pre[#pre + 1] = op .. " k" .. rint(8) .. ", " .. zreg(b) .. ", " .. imm8()
    elseif i then
      pre[#pre + 1] = op .. " " .. zreg(b) .. kmask() .. ", " .. rm() .. ", " .. rint(16)
    elseif op:match("^vmov") and chance(2) then
      pre[#pre + 1] = op .. " " .. mem(b, pre, op == "vmovapd" and b // 8 or 1) .. kmask():gsub("{z}", "") .. ", " .. zreg(b)
    else
      local src = rm()
      if op == "vcvtps2qq" then src = zreg(b == 512 and 256 or 128) end
      if op == "vmovapd" and src:find("ptr") then src = mem(b, pre, b // 8) end
      pre[#pre + 1] = op .. " " .. zreg(b) .. kmask() .. ", " .. src
    end
  elseif k == 3 then
    -- compares into masks, mask logic, mask moves
    local f = rint(5)
    if f == 0 then pre[#pre + 1] = pick({ "vpcmpd", "vpcmpuq", "vpcmpb", "vcmpps" }) .. " k" .. rint(8) .. kmask():gsub("{z}", "") .. ", " .. zreg(b) .. ", " .. rm() .. ", " .. rint(8)
    elseif f == 1 then pre[#pre + 1] = pick({ "kandw", "korq", "kxorb", "kxnord", "kandnw", "kaddd", "kunpckbw" }) .. " k" .. rint(8) .. ", k" .. rint(8) .. ", k" .. rint(8)
    elseif f == 2 then pre[#pre + 1] = pick({ "knotw", "kmovq", "kmovd", "kortestw", "ktestq" }) .. " k" .. rint(8) .. ", k" .. rint(8)
    elseif f == 3 then
      local w = pick({ { "kmovw", 32 }, { "kmovd", 32 }, { "kmovq", 64 }, { "kmovb", 32 } })
      if chance(2) then pre[#pre + 1] = w[1] .. " k" .. rint(8) .. ", " .. reg(w[2])
      else pre[#pre + 1] = w[1] .. " " .. reg(w[2]) .. ", k" .. rint(8) end
    else pre[#pre + 1] = pick({ "kshiftlw", "kshiftrq" }) .. " k" .. rint(8) .. ", k" .. rint(8) .. ", " .. rint(64) end
  elseif k == 4 then
    local f = rint(4)
    if f == 0 then pre[#pre + 1] = pick({ "vpmovdb", "vpmovqw", "vpmovsqb", "vpmovusqb" }) .. " " .. zreg(128) .. kmask() .. ", " .. zreg(b)
    elseif f == 1 then pre[#pre + 1] = pick({ "vpmovm2d", "vpmovm2b" }) .. " " .. zreg(b) .. ", k" .. rint(8)
    elseif f == 2 then pre[#pre + 1] = pick({ "vpmovd2m", "vpmovb2m" }) .. " k" .. rint(8) .. ", " .. zreg(b)
    else pre[#pre + 1] = "vaddps " .. zreg(512) .. kmask() .. ", " .. zreg(512) .. ", " .. zreg(512) .. ", " .. pick({ "{rn-sae}", "{rd-sae}", "{ru-sae}", "{rz-sae}" }) end
  else
    pre[#pre + 1] = pick({ "vpopcntb", "vpshufbitqmb0" }):gsub("0$", "")
    if pre[#pre] == "vpshufbitqmb" then pre[#pre] = "vpshufbitqmb k" .. rint(8) .. ", " .. zreg(b) .. ", " .. rm()
    else pre[#pre] = "vpopcntb " .. zreg(b) .. kmask() .. ", " .. rm() end
  end
  return pre
end)

-- -- Output --------------------------------------------------------------------

local function main(argv)
  local seed, count, keep, list
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "--keep" then
      keep = {}
      for n in (argv[i + 1] or ""):gmatch("%d+") do keep[tonumber(n)] = true end
      i = i + 1
    elseif a == "--list" then list = true
    elseif a == "--gs" then use_gs = true
    elseif not seed then seed = math.tointeger(tonumber(a))
    elseif not count then count = math.tointeger(tonumber(a))
    else seed = nil; break end
    i = i + 1
  end
  if not seed or (count and count < 1) then
    io.stderr:write("usage: gen.lua SEED [ITEMS] [--keep 1,4,7] [--list] [--gs]\n")
    os.exit(2)
  end
  count = count or 40
  state = (seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) | 1
  local total = 0
  for _, it in ipairs(items) do total = total + it.w end
  local drawn = {}
  for n = 1, count do
    local r = rint(total)
    for _, it in ipairs(items) do
      r = r - it.w
      if r < 0 then
        setup, avoid = {}, {}
        local lines = it.f()
        for j = #setup, 1, -1 do table.insert(lines, 1, setup[j]) end
        drawn[n] = lines
        break
      end
    end
  end
  if list then
    for n, lines in ipairs(drawn) do
      if not keep or keep[n] then print(n .. "\t" .. table.concat(lines, "; ")) end
    end
    return
  end
  local out = { ".intel_syntax noprefix", ".text", "hdr:",
    string.format(".quad 0x%x, entry, %s, itab, ftab, fipr, %s", MAGIC, "NINSN", "NFIP"), "entry:" }
  local n, flags = 0, {}
  for k, lines in ipairs(drawn) do
    if not keep or keep[k] then
      out[#out + 1] = "# item " .. k
      for _, r in ipairs(lines.fip or {}) do fip_ranges[#fip_ranges + 1] = r end
      for _, l in ipairs(lines) do
        if l:match("^L%d+:$") then out[#out + 1] = l
        else
          local trap = l:sub(1, 1) == "!"
          out[#out + 1] = string.format("I%d: %s", n, trap and l:sub(2) or l)
          flags[n] = trap and 1 or 0
          n = n + 1
        end
      end
    end
  end
  out[#out + 1] = string.format("I%d: jmp qword ptr [0x%x]", n, FZ_CTL)
  flags[n] = 0
  n = n + 1
  out[#out + 1] = string.format("I%d:", n)
  out[4] = out[4]:gsub("NINSN", tostring(n)):gsub("NFIP", tostring(#fip_ranges))
  out[#out + 1] = ".balign 8"
  out[#out + 1] = "itab:"
  for j = 0, n do out[#out + 1] = string.format(".quad I%d", j) end
  out[#out + 1] = "ftab:"
  for j = 0, n - 1 do out[#out + 1] = ".byte " .. flags[j] end
  out[#out + 1] = ".balign 8"
  out[#out + 1] = "fipr:"
  for _, r in ipairs(fip_ranges) do out[#out + 1] = string.format(".quad 0x%x, %d", r[1], r[2]) end
  print(table.concat(out, "\n"))
end

main(arg)
