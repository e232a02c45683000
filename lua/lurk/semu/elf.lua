--- lurk.semu.elf: static facts about an ELF executable, read from its file
-- with io (what Dr.Semu got from pe-parse): type, machine, entry,
-- interpreter, needed libraries, imported symbols, sections.
--
--   local elf = require "lurk.semu.elf"
--   local f = elf.facts("/bin/ls")
--   --> { type = "DYN", machine = "x86-64", interpreter = "/lib64/ld-linux-x86-64.so.2",
--   --    needed = { "libselinux.so.1", "libc.so.6" }, imports = { "abort", ... },
--   --    sections = { { name = ".text", type = "PROGBITS", flags = "AX", size = 82378 }, ... } }
--   elf.facts("/etc/passwd")   --> nil, "not an ELF file"
local M = {}

local byte, sub = string.byte, string.sub

local MAX_IMPORTS = 4096

local function le(s, i, n)
  local v = 0
  for k = i + n - 1, i, -1 do v = v * 256 + (byte(s, k) or 0) end
  return v
end

local TYPES = { [0] = "NONE", "REL", "EXEC", "DYN", "CORE" }
local MACHINES = { [3] = "x86", [62] = "x86-64", [40] = "arm", [183] = "aarch64", [243] = "riscv" }
local SHT = { [0] = "NULL", "PROGBITS", "SYMTAB", "STRTAB", "RELA", "HASH", "DYNAMIC", "NOTE",
  "NOBITS", "REL", "SHLIB", "DYNSYM", [14] = "INIT_ARRAY", [15] = "FINI_ARRAY",
  [0x6ffffff6] = "GNU_HASH", [0x6ffffffe] = "VERNEED", [0x6fffffff] = "VERSYM",
  [0x6ffffffd] = "VERDEF", [0x6ffffff5] = "GNU_ATTRIBUTES" }

local function cstr(s, off)
  if not off or off < 0 or off >= #s then return nil end
  return s:match("^[^%z]*", off + 1)
end

local function shflags(f)
  local t = {}
  if f % 2 >= 1 then t[#t + 1] = "W" end
  if f % 4 >= 2 then t[#t + 1] = "A" end
  if f % 8 >= 4 then t[#t + 1] = "X" end
  return table.concat(t)
end

-- A reader of byte ranges of file f (cached blocks of 64 KiB).
local function reader(f)
  local blocks = {}
  local B = 65536
  local function block(i)
    local b = blocks[i]
    if not b then
      f:seek("set", i * B)
      b = f:read(B) or ""
      blocks[i] = b
    end
    return b
  end
  return function(off, n)
    local out = {}
    local i = math.floor(off / B)
    local o = off - i * B
    while n > 0 do
      local b = block(i)
      local piece = sub(b, o + 1, o + n)
      if piece == "" then break end
      out[#out + 1] = piece
      n = n - #piece
      i, o = i + 1, 0
    end
    return table.concat(out)
  end
end

--- The facts of the ELF file at path, or nil and a message.
function M.facts(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local at = reader(f)
  local ok, r, msg = pcall(M.parse, at)
  f:close()
  if not ok then return nil, tostring(r) end
  return r, msg
end

--- The facts from at(offset, n), a reader of the file's bytes.
function M.parse(at)
  local s = at(0, 64)
  if sub(s, 1, 4) ~= "\127ELF" then return nil, "not an ELF file" end
  if byte(s, 5) ~= 2 or byte(s, 6) ~= 1 then return nil, "not a 64-bit little-endian ELF file" end
  local r = { type = TYPES[le(s, 17, 2)] or tostring(le(s, 17, 2)),
              machine = MACHINES[le(s, 19, 2)] or tostring(le(s, 19, 2)),
              entry = le(s, 25, 8), needed = {}, imports = {}, sections = {} }
  local phoff, shoff = le(s, 33, 8), le(s, 41, 8)
  local phentsize, phnum = le(s, 55, 2), le(s, 57, 2)
  local shentsize, shnum, shstrndx = le(s, 59, 2), le(s, 61, 2), le(s, 63, 2)
  local function cstr_at(off)
    local t = at(off, 4096)
    return t:match("^[^%z]*")
  end
  for i = 0, math.min(phnum, 256) - 1 do
    local ph = at(phoff + i * phentsize, 56)
    if le(ph, 1, 4) == 3 then -- PT_INTERP
      r.interpreter = cstr_at(le(ph, 9, 8))
    end
  end
  local secs = {}
  local sh = at(shoff, math.min(shnum, 4096) * shentsize)
  for i = 0, math.min(shnum, 4096) - 1 do
    local o = i * shentsize + 1
    if o + 63 > #sh then break end
    secs[i] = { name = le(sh, o, 4), type = le(sh, o + 4, 4), flags = le(sh, o + 8, 8),
                offset = le(sh, o + 24, 8), size = le(sh, o + 32, 8), link = le(sh, o + 40, 4),
                entsize = le(sh, o + 56, 8) }
  end
  local shstr = secs[shstrndx]
  local shs = shstr and at(shstr.offset, math.min(shstr.size, 65536)) or ""
  for i = 1, #secs do
    local sc = secs[i]
    local name = cstr(shs, sc.name) or "?"
    r.sections[#r.sections + 1] = { name = name, type = SHT[sc.type] or string.format("0x%x", sc.type),
                                    flags = shflags(sc.flags), size = sc.size }
    local strs = secs[sc.link]
    if sc.type == 6 and strs then -- DYNAMIC: DT_NEEDED names in the linked string table
      local d, st = at(sc.offset, math.min(sc.size, 65536)), at(strs.offset, math.min(strs.size, 1048576))
      for o = 1, #d - 15, 16 do
        local tag = le(d, o, 8)
        if tag == 0 then break end
        if tag == 1 then r.needed[#r.needed + 1] = cstr(st, le(d, o + 8, 8)) end
      end
    elseif sc.type == 11 and strs then -- DYNSYM: undefined (shndx 0) named symbols are imports
      local es = sc.entsize > 0 and sc.entsize or 24
      local d, st = at(sc.offset, math.min(sc.size, 4194304)), at(strs.offset, math.min(strs.size, 4194304))
      for o = es + 1, #d - es + 1, es do
        if #r.imports >= MAX_IMPORTS then r.imports_cut = true break end
        if le(d, o + 6, 2) == 0 and le(d, o, 4) ~= 0 then
          r.imports[#r.imports + 1] = cstr(st, le(d, o, 4))
        end
      end
    end
  end
  table.sort(r.imports)
  return r
end

return M
