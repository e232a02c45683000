-- lurk.asm round trip over a library's .text (issue #12 "What it must show" 4):
-- every instruction decoded with lurk.decode (linear sweep), formatted
-- (ins.text) and assembled back at its own address must give the same bytes
-- or an encoding that decodes to the same mnemonic, prefixes and operands.
--
--   lurk run bench/asm-roundtrip.lua [--step N] [--limit N] [--lib PATH] -- /bin/true
--
-- Prints "roundtrip: N checked, S same bytes, E equivalent, F failed" and
-- each failure class (mnemonic: reason) with its count and one example.
-- spec/asm_spec.lua runs a sample (--step); the full set is this command.
local args = require "lurk.args"
local opts = args.parse("asm-roundtrip", { ... }, {
  step = { "count", 1, min = 1 },
  limit = { "count", 0 },
  lib = { "string", "/lib/x86_64-linux-gnu/libc.so.6" },
  show = { "count", 3 },
})

local function u(s, off, n)   -- little-endian unsigned at 0-based off
  local v = 0
  for i = n, 1, -1 do v = v * 256 + s:byte(off + i) end
  return v
end

local f = assert(io.open(opts.lib, "rb"))
local elf = f:read("a")
f:close()
assert(elf:sub(1, 4) == "\127ELF" and elf:byte(5) == 2, opts.lib .. ": not an ELF64 file")
local shoff, shentsize, shnum, shstrndx = u(elf, 0x28, 8), u(elf, 0x3a, 2), u(elf, 0x3c, 2), u(elf, 0x3e, 2)
local function sh(i) local b = shoff + i * shentsize
  return { name = u(elf, b, 4), addr = u(elf, b + 0x10, 8), off = u(elf, b + 0x18, 8), size = u(elf, b + 0x20, 8) } end
local strs = sh(shstrndx)
local text
for i = 0, shnum - 1 do
  local s = sh(i)
  local nm = elf:match("^[^%z]*", strs.off + s.name + 1)
  if nm == ".text" then text = s end
end
assert(text, "no .text section")

-- What an instruction means: mnemonic, prefixes, visible operands.
local function meaning(ins)
  local t = { ins.mnemonic, tostring(ins.lock), tostring(ins.rep), tostring(ins.mask), tostring(ins.zeroing) }
  for i = 1, 8 do
    local o = ins:operand(i)
    if not o then break end
    -- a branch's displacement width is the encoder's choice: its target is
    -- the meaning; a register is its name (Zydis reports the scalar width
    -- of FMA4's modrm register, 64, and 128 for the same one in imm8[7:4])
    -- an immediate is its value (imm8 and imm32 forms of one sign-extended
    -- value are one operand)
    t[#t + 1] = o.kind .. "/" .. ((o.kind ~= "mem") and "" or o.size)
    if o.kind == "reg" then t[#t + 1] = o.reg
    elseif o.kind == "imm" then t[#t + 1] = o.relative and ("->" .. o.target) or tostring(o.value)
    elseif o.kind == "mem" then
      t[#t + 1] = table.concat({ o.base or "", o.index or "", o.scale, o.seg or "",
                                 o.address and ("@" .. o.address) or o.disp }, ",")
    end
  end
  return table.concat(t, " ")
end

local checked, same, equiv, undecodable = 0, 0, 0, 0
local fails, nfail = {}, 0
local pos, stop, n = text.off, text.off + text.size, 0
while pos < stop do
  local pc = text.addr + (pos - text.off)
  local ins = lurk.decode(elf:sub(pos + 1, math.min(pos + 15, stop)), pc)
  if not ins then
    undecodable, pos = undecodable + 1, pos + 1
  else
    pos = pos + ins.length
    n = n + 1
    if (n - 1) % opts.step == 0 then
      checked = checked + 1
      local ok, out = pcall(lurk.asm, ins.text, nil, pc)
      local class
      if not ok then
        class = ins.mnemonic .. ": " .. tostring(out):gsub("^.-lurk%.asm: %d+:%d+: ", ""):gsub("0x%x+", "N")
      elseif #out ~= 1 then
        class = ins.mnemonic .. ": " .. #out .. " instructions"
      elseif out[1].bytes == ins.bytes then
        same = same + 1
      elseif meaning(out[1]) == meaning(ins) then
        equiv = equiv + 1
      else
        class = ins.mnemonic .. ": different operands"
        out = meaning(ins) .. " <> " .. meaning(out[1])
      end
      if class then
        nfail = nfail + 1
        local c = fails[class] or { n = 0, ex = {} }
        fails[class] = c
        c.n = c.n + 1
        if #c.ex < opts.show then
          c.ex[#c.ex + 1] = string.format("0x%x %s  (%s)%s", pc, ins.text,
            (ins.bytes:gsub(".", function(ch) return string.format("%02x", ch:byte()) end)),
            type(out) == "string" and ("  " .. out) or "")
        end
      end
      if opts.limit > 0 and checked >= opts.limit then break end
    end
  end
end

print(string.format("roundtrip: %d checked, %d same bytes, %d equivalent, %d failed (%s .text: %d instructions, %d undecodable bytes)",
  checked, same, equiv, nfail, opts.lib, n, undecodable))
local cls = {}
for k, v in pairs(fails) do cls[#cls + 1] = { k = k, v = v } end
table.sort(cls, function(a, b) return a.v.n > b.v.n end)
for _, c in ipairs(cls) do
  print(string.format("  %6d  %s", c.v.n, c.k))
  for _, e in ipairs(c.v.ex) do print("          " .. e) end
end
