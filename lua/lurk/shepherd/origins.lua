--- lurk.shepherd.origins: where code may come from and where control may
-- go, as shepherd (scripts/shepherd.lua) sees the program's memory.
--
--   local origins = require "lurk.shepherd.origins"
--   origins.add_module(m)          -- at module_load: text ranges, entries
--   origins.code_ok(pc)            --> true | false, why
--   origins.is_entry(a), origins.is_after_call(a)
--
-- Per module it keeps the executable PT_LOAD segments (from the program
-- headers mapped at the module's base), and it marks two facts per app
-- byte in lurk.shadow, so the compiled checks in the blocks can read them
-- with one load:
--
--   F (function entry)  "defined"   symbols (.symtab, .dynsym, a debug
--                                   file), the ELF entry and main, each
--                                   FDE's start in .eh_frame_hdr, and the
--                                   address-taken code (mod:address_taken:
--                                   relocation targets, data pointers):
--                                   the fallbacks for stripped modules
--   R (after a call)    "undefined" the instruction after each call lurk
--                                   has translated
--   both                "partial"
--
-- Code made executable at run time (mmap/mprotect with PROT_EXEC of
-- anonymous memory) is kept as "jit" ranges; pages of module text made
-- writable afterwards as "written" ranges.
local M = {}

local ffi = require "ffi"
local shadow = lurk.shadow
local format = string.format

local PT_LOAD, PT_DYNAMIC, PT_GNU_EH_FRAME, PF_X = 1, 2, 0x6474e550, 1
local F, R = 2, 1          -- the two bits of a shadow state

M.F, M.R = F, R
M.mods = {}                -- base -> { name, path, base, lo, hi, text = { {lo, hi} }, full, nentries }
M.jit = {}                 -- key -> { lo, hi }: anonymous memory made executable
M.written = {}             -- key -> { lo, hi }: module text made writable after load
M.filex = {}               -- key -> { lo, hi }: files mapped executable outside module loading
                           -- (V8 maps its embedded builtins again, from node's own file)

local u8p, u16p, u32p = ffi.typeof("const uint8_t *"), ffi.typeof("const uint16_t *"), ffi.typeof("const uint32_t *")
local i32p, u64p = ffi.typeof("const int32_t *"), ffi.typeof("const uint64_t *")

-- Read an integer of the module's mapped memory (nil when unreadable).
local function rd(addr, n, signed)
  local s = lurk.read(addr, n)
  if not s then return nil end
  local p = ffi.cast("const char *", s)
  if n == 1 then return ffi.cast(u8p, p)[0]
  elseif n == 2 then return ffi.cast(u16p, p)[0]
  elseif n == 4 then return signed and ffi.cast(i32p, p)[0] or ffi.cast(u32p, p)[0]
  else return tonumber(ffi.cast(u64p, p)[0]) end
end

-- OR state bits into the shadow of one byte.
local function mark(a, bits)
  local cur = shadow.get(a)
  local v = (cur == "defined" and F or cur == "undefined" and R or cur == "partial" and F + R or 0)
  local nv = bit.bor(v, bits)
  if nv ~= v then
    shadow.set(a, 1, nv == F and "defined" or nv == R and "undefined" or "partial")
  end
end
M.mark = mark

-- The F/R bits of byte a.
local function bits(a)
  local cur = shadow.get(a)
  return cur == "defined" and F or cur == "undefined" and R or cur == "partial" and F + R or 0
end
function M.is_entry(a) return bit.band(bits(a), F) ~= 0 end
function M.is_after_call(a) return bit.band(bits(a), R) ~= 0 end

-- The program headers of the module at base: its load bias, executable
-- segments and the address of .eh_frame_hdr.
local function phdrs(base)
  if rd(base, 4) ~= 0x464c457f then return nil end
  local phoff, phent, phnum = rd(base + 0x20, 8), rd(base + 0x36, 2), rd(base + 0x38, 2)
  if not (phoff and phent and phnum) then return nil end
  local loads, ehf, minv, dyn = {}, nil, nil, nil
  for i = 0, phnum - 1 do
    local p = base + phoff + i * phent
    local typ, flags, vaddr, memsz = rd(p, 4), rd(p + 4, 4), rd(p + 0x10, 8), rd(p + 0x28, 8)
    if not typ then return nil end
    if typ == PT_LOAD then
      loads[#loads + 1] = { vaddr = vaddr, memsz = memsz, x = bit.band(flags, PF_X) ~= 0, offset = rd(p + 8, 8) }
      if not minv or vaddr < minv then minv = vaddr end
    elseif typ == PT_GNU_EH_FRAME then ehf = vaddr
    elseif typ == PT_DYNAMIC then dyn = vaddr end
  end
  if not minv then return nil end
  local bias = base - (minv - minv % 4096)
  local text = {}
  for _, l in ipairs(loads) do
    if l.x then text[#text + 1] = { l.vaddr + bias, l.vaddr + bias + l.memsz, offset = l.offset } end
  end
  return { bias = bias, text = text, eh_frame_hdr = ehf and ehf + bias, dynamic = dyn and dyn + bias }
end

-- Decode one pointer of .eh_frame_hdr (the encodings ld and gold write:
-- udata4/sdata4/udata8/sdata8, absolute, pc- or data-relative).
local function eh_ptr(addr, enc, hdr)
  local fmt, app = enc % 16, enc - enc % 16
  local v, n
  if fmt == 3 then v, n = rd(addr, 4), 4
  elseif fmt == 0x0b then v, n = rd(addr, 4, true), 4
  elseif fmt == 4 or fmt == 0x0c then v, n = rd(addr, 8), 8
  else return nil end
  if not v then return nil end
  if app == 0x10 then v = v + addr elseif app == 0x30 then v = v + hdr elseif app ~= 0 then return nil end
  return v, n
end

-- Each FDE's start address in the binary-search table of .eh_frame_hdr.
local function fde_starts(hdr)
  local out = {}
  if not hdr or rd(hdr, 1) ~= 1 then return out end
  local pe, ce, te = rd(hdr + 1, 1), rd(hdr + 2, 1), rd(hdr + 3, 1)
  local _, n1 = eh_ptr(hdr + 4, pe, hdr)
  if not n1 then return out end
  local count, n2 = eh_ptr(hdr + 4 + n1, ce, hdr)
  if not count or te == 0xff then return out end
  local p = hdr + 4 + n1 + n2
  local _, w = eh_ptr(p, te, hdr)
  if not w then return out end
  for i = 0, count - 1 do
    local a = eh_ptr(p + i * 2 * w, te, hdr)
    if a then out[#out + 1] = a end
  end
  return out
end

-- main, from the program's entry (_start): the first argument it passes
-- to __libc_start_main (`lea rdi, [rip+main]`, or `mov rdi, main` in a
-- non-PIE program), so a stripped program's main is an entry.
local function main_of(entry)
  local bytes = lurk.read(entry, 64)
  if not bytes then return nil end
  local off, main = 0, nil
  for _ = 1, 24 do
    local ins = lurk.decode(bytes:sub(off + 1), entry + off)
    if not ins or ins.is_call or ins.is_branch then break end
    local t = ins.text
    local d = t:match("^lea rdi, %[rip%+(0x%x+)%]$") or t:match("^lea rdi, %[rip%-(0x%x+)%]$")
    if d then
      main = entry + off + ins.length + (t:find("rip%-") and -tonumber(d) or tonumber(d))
    else
      local imm = t:match("^mov [re]di, (0x%x+)$")
      if imm then main = tonumber(imm) end
    end
    off = off + ins.length
    if off >= 48 then break end
  end
  return main
end

--- Register a module (a module_load event's table): its text ranges, and
-- its function entries marked F. Returns the module record.
function M.add_module(m)
  local ph = phdrs(m.base)
  local rec = { name = m.name, path = m.path, base = m.base, lo = m.base, hi = m["end"],
                text = ph and ph.text or { { m.base, m["end"] } }, nentries = 0, full = false,
                bias = ph and ph.bias or m.base, dynamic = ph and ph.dynamic }
  M.mods[m.base] = rec
  local n = 0
  local function entry(a)
    if a and a >= rec.lo and a < rec.hi then mark(a, F); n = n + 1 end
  end
  for s in m:symbols() do
    entry(s.addr)
    if not s.global then rec.full = true end   -- static functions: a full symbol table
  end
  if m.entry and m.entry ~= 0 then
    entry(m.entry)
    entry(main_of(m.entry))
  end
  local fdes = fde_starts(ph and ph.eh_frame_hdr)
  for _, a in ipairs(fdes) do entry(a) end
  -- address-taken code: relocation targets, a non-PIE program's data
  -- pointers to code (read from the file's sections; lurk.symbols' ELF
  -- reading): the fallback where symbols and FDEs are missing
  local taken = m:address_taken()
  for _, a in ipairs(taken) do entry(a) end
  rec.nentries, rec.nfdes, rec.ntaken = n, #fdes, #taken
  return rec
end

local DT_INIT, DT_FINI, DT_INIT_ARRAY, DT_FINI_ARRAY = 12, 13, 25, 26
local DT_INIT_ARRAYSZ, DT_FINI_ARRAYSZ, DT_PREINIT_ARRAY, DT_PREINIT_ARRAYSZ = 27, 28, 32, 33

--- Mark the functions ld.so calls through the module's dynamic section
-- (DT_INIT, DT_FINI and the init, fini and preinit arrays) as entries.
-- Done on first need, when the arrays are relocated. true if any was new.
function M.dyn_entries(rec)
  if rec.dyn_done or not rec.dynamic then return false end
  rec.dyn_done = true
  local d, tags = rec.dynamic, {}
  for i = 0, 255 do
    local tag, val = rd(d + 16 * i, 8), rd(d + 16 * i + 8, 8)
    if not tag or tag == 0 then break end
    tags[tag] = val
  end
  local function addr(v)
    if not v then return nil end
    if v < rec.lo then v = v + rec.bias end
    return v
  end
  for _, t in ipairs({ DT_INIT, DT_FINI }) do
    local a = addr(tags[t])
    if a then mark(a, F) end
  end
  for _, p in ipairs({ { DT_INIT_ARRAY, DT_INIT_ARRAYSZ }, { DT_FINI_ARRAY, DT_FINI_ARRAYSZ },
                       { DT_PREINIT_ARRAY, DT_PREINIT_ARRAYSZ } }) do
    local arr, sz = addr(tags[p[1]]), tags[p[2]]
    if arr and sz then
      for i = 0, sz / 8 - 1 do
        local a = rd(arr + 8 * i, 8)
        if a and a ~= 0 and a ~= 0xffffffffffffffff and a < 0x800000000000 then mark(a, F) end
      end
    end
  end
  return true
end

--- lurk's own library: its code runs as the program's when ld.so calls
-- its fini functions at exit. Its text is trusted as lurk's (no module
-- event names it).
function M.add_lurk()
  local f = io.open("/proc/self/maps")
  if not f then return end
  local text = f:read("*a")
  f:close()
  for line in text:gmatch("[^\n]+") do
    local lo, hi, perms, path = line:match("^(%x+)%-(%x+) (%S+) %S+ %S+ %S+ *(.*)$")
    if path:match("/liblurk%.so$") and perms:find("x", 1, true) then
      lo, hi = tonumber(lo, 16), tonumber(hi, 16)
      M.mods[lo] = { name = "liblurk.so", path = path, base = lo, lo = lo, hi = hi, text = { { lo, hi } },
                     nentries = 0, lurk = true }
    end
  end
end

--- Forget a module (module_unload): its marks are cleared.
-- Drop the file ranges inside [lo, hi): the pages a library's mmap
-- recorded before its module_load (which waits for its relocation when
-- lurk starts at the first instruction) belong to the module from then on.
local function drop_filex(lo, hi)
  for k, r in pairs(M.filex) do
    if r[1] >= lo and r[2] <= hi then M.filex[k] = nil end
  end
end

function M.remove_module(m)
  local rec = M.mods[m.base]
  if not rec then return end
  shadow.set(rec.lo, rec.hi - rec.lo, "noaccess")
  M.mods[m.base] = nil
  drop_filex(rec.lo, rec.hi)
end

--- The module record and text range holding address a, if any.
function M.text_of(a)
  for _, rec in pairs(M.mods) do
    if a >= rec.lo and a < rec.hi then
      for _, t in ipairs(rec.text) do
        if a >= t[1] and a < t[2] then return rec, t end
      end
      return rec, nil
    end
  end
  return nil
end

local function in_ranges(set, a)
  for _, r in pairs(set) do if a >= r[1] and a < r[2] then return true end end
  return false
end
function M.in_jit(a) return in_ranges(M.jit, a) end

--- Record a range made executable (jit) or module text made writable.
function M.add_range(set, lo, hi) set[format("%x-%x", lo, hi)] = { lo, hi } end

-- Are the n bytes at pc (in text range t of module rec) still the
-- file's? (read from the file: only for text made writable since load)
local function same_as_file(rec, t, pc, n)
  if not t.offset then return false end
  local f = io.open(rec.path, "rb")
  if not f then return false end
  f:seek("set", t.offset + (pc - t[1]))
  local want = f:read(n)
  f:close()
  return want ~= nil and want == lurk.read(pc, n)
end

--- May the n bytes of code at pc run? true, "module" | "file" | "jit" |
-- "lurk"; or false and why: the kind of memory (see classify), or module
-- text written after load that differs from the file.
function M.code_ok(pc, jit_allowed, n)
  local rec, t = M.text_of(pc)
  if t then
    if rec.lurk then return true, "lurk", rec end
    if in_ranges(M.written, pc) and not jit_allowed and not same_as_file(rec, t, pc, n or 1) then
      return false, format("%s's text, made writable and changed since it was loaded (%s)", rec.name,
                           M.classify(pc))
    end
    return true, "module", rec
  end
  if in_ranges(M.filex, pc) then return true, "file" end
  if jit_allowed and in_ranges(M.jit, pc) then return true, "jit" end
  return false, M.classify(pc)
end

--- What memory a is in, from /proc/self/maps: "stack", "heap", "anonymous"
-- (with its permissions), "a mapping of FILE", or "unmapped".
function M.classify(a)
  local f = io.open("/proc/self/maps")
  if not f then return "unknown memory" end
  local text = f:read("*a")
  f:close()
  for line in text:gmatch("[^\n]+") do
    local lo, hi, perms, path = line:match("^(%x+)%-(%x+) (%S+) %S+ %S+ %S+ *(.*)$")
    lo, hi = tonumber(lo, 16), tonumber(hi, 16)
    if a >= lo and a < hi then
      if path == "[stack]" then return "stack (" .. perms .. ")"
      elseif path == "[heap]" then return "heap (" .. perms .. ")"
      elseif path == "" then return "anonymous memory (" .. perms .. ")"
      elseif path:sub(1, 1) == "[" then return path .. " (" .. perms .. ")"
      else return "a mapping of " .. path .. " (" .. perms .. ")" end
    end
  end
  return "unmapped memory"
end

--- Is there a file-backed mapping over all of [lo, hi)? (for mprotect)
function M.file_backed(lo, hi)
  local f = io.open("/proc/self/maps")
  if not f then return false end
  local text = f:read("*a")
  f:close()
  local covered = lo
  for line in text:gmatch("[^\n]+") do
    local mlo, mhi, inode, path = line:match("^(%x+)%-(%x+) %S+ %S+ %S+ (%d+) *(.*)$")
    mlo, mhi = tonumber(mlo, 16), tonumber(mhi, 16)
    if mlo <= covered and mhi > covered then
      if inode == "0" or path == "" or path:sub(1, 1) == "[" then return false end
      covered = mhi
      if covered >= hi then return true end
    end
  end
  return false
end

--- "MODULE!symbol+0xOFF" (or "MODULE+0xOFF", or the bare address).
function M.describe(a)
  if not a then return "?" end
  local s = lurk.sym(a, false)
  if s and s.name then
    return s.offset == 0 and format("%s!%s", s.module, s.name) or format("%s!%s+0x%x", s.module, s.name, s.offset)
  elseif s then return format("%s+0x%x", s.module, a - s.base) end
  local m = lurk.module_at(a)
  if m then return format("%s+0x%x", m.name, a - m.base) end
  return format("0x%x", a)
end

return M
