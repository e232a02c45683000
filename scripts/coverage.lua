--- coverage: write the blocks the program executed as a drcov (version 2)
-- file, the format of DynamoRIO's drcov that Lighthouse (IDA, Binary Ninja),
-- lcov converters and other coverage viewers read.
--
--   lurk run -t coverage -- ./prog              # ./lurk.drcov.<pid>.log
--   lurk run -t coverage=cov.%p.log -- ./prog   # another name (%p: the pid)
--   lurk run coverage.lua /tmp/x.log -- ./prog  # as a script
--
-- Option: the file name (`file=NAME` or just NAME). `%p` in it becomes the
-- process id; the default is `lurk.drcov.%p.log`, in the directory that is
-- current when the process starts (the file is created then, so a program
-- that changes directory does not move it). A file that exists is never
-- overwritten: `.1`, `.2`, ... is put before the extension instead
-- (lurk.drcov.1234.1.log). Every process writes its own file: a forked
-- child creates one named with its own pid when it starts; a program the
-- process execs keeps the pid, so it gets the next free name, and the image
-- before the exec writes its file at the exec.
--
-- When a process ends, its file gets the header, the module table and the
-- block table, and one line goes to lurk's output (lurk run -t coverage --
-- /bin/ls /usr/share):
--
--   coverage: 2620 blocks in 7 modules written to lurk.drcov.20954.log
--
-- The file (the BB table is binary):
--
--   DRCOV VERSION: 2
--   DRCOV FLAVOR: lurk
--   Module Table: version 2, count 8
--   Columns: id, base, end, entry, checksum, timestamp, path
--     0, 0x000055a9b4135000, 0x000055a9b415b000, 0x000055a9b413b1d0, 0x00000000, 0x00000000, /usr/bin/ls
--     1, 0x00007f10d8cea000, 0x00007f10d8d84000, 0x00007f10d8cea000, 0x00000000, 0x00000000, /usr/lib/x86_64-linux-gnu/libpcre2-8.so.0.11.2
--     2, 0x00007f10d8d86000, 0x00007f10d8e66000, 0x00007f10d8d86000, 0x00000000, 0x00000000, /usr/lib/x86_64-linux-gnu/libm.so.6
--   ...
--   BB Table: 2620 bbs
--   <2620 records {uint32 start, uint16 size, uint16 module id}, little endian>
--
-- Module ids are the rows of the table, in the order lurk reported the
-- modules (module_load: the ones mapped at start by address, then the
-- libraries loaded later); unloaded modules stay in the table. `start` is
-- the block's offset from its module's base (its lowest mapped address),
-- `size` its length in bytes. Checksum and timestamp are 0 (drcov fills
-- them on Windows only).
--
-- Which blocks: as DynamoRIO's drcov does, a block is recorded when it is
-- translated, not by a call at run time, so the tool costs nothing while the
-- program runs. lurk translates a block when it is about to run it, so a
-- recorded block has started executing at least once. Each (start, size)
-- is recorded once; a block translated again with another size (code that
-- changed) is recorded again. Blocks outside every module (JIT code,
-- lurk's own liblurk.so, whose destructors run at exit) are left out. A
-- forked child's file holds the parent's blocks up to the fork as well:
-- they are the child's history too, and the blocks the parent had
-- translated are not translated again in the child. A vfork child (sh and
-- posix_spawn use vfork) shares the parent's Lua state until it execs: the
-- blocks it runs before the exec go to the parent's file, and the `exec`
-- and `exit` handlers it runs write the parent's file, not a file of its
-- own (the file stays open for the parent's own write at its exit).
local M = {}

local format, char, floor, concat = string.format, string.char, math.floor, table.concat
local module_at, log = lurk.module_at, lurk.log

local modules, modkey = {}, {} -- id + 1 -> module; "base path" -> id
local starts, sizes, mods = {}, {}, {} -- the BB table, in recording order
local seen = {}                -- start pc -> size recorded
local pattern = "lurk.drcov.%p.log"
local out, outname             -- the open file and its name

local function module_id(m)
  local key = format("%x %s", m.base, m.path)
  local id = modkey[key]
  if not id then
    id = #modules
    modules[id + 1] = { path = m.path, base = m.base, ["end"] = m["end"], entry = m.entry }
    modkey[key] = id
  end
  return id
end

local function exists(name)
  local f = io.open(name, "r")
  if f then f:close() return true end
  return false
end

-- The name for this process: the pattern with its pid, then a free variant.
local function free_name()
  local name = pattern:gsub("%%p", tostring(lurk.pid()))
  if not exists(name) then return name end
  local stem, ext = name:match("^(.*[^/])(%.[^./]*)$")
  if not stem then stem, ext = name, "" end
  for k = 1, 9999 do
    local n = stem .. "." .. k .. ext
    if not exists(n) then return n end
  end
  error("coverage: no free file name for " .. name)
end

local function create()
  outname = free_name()
  local f, err = io.open(outname, "wb")
  if not f then error("coverage: " .. err, 0) end
  out = f
end

local function u32(v)
  return char(v % 256, floor(v / 256) % 256, floor(v / 65536) % 256, floor(v / 16777216) % 256)
end

local function u16(v)
  return char(v % 256, floor(v / 256) % 256)
end

-- Write the whole file from its start. It only grows from one write to the
-- next (more modules and blocks, counts with as many digits or more), so
-- nothing of an earlier write is left behind.
local function write_file()
  local t = { "DRCOV VERSION: 2\nDRCOV FLAVOR: lurk\n",
              format("Module Table: version 2, count %d\n", #modules),
              "Columns: id, base, end, entry, checksum, timestamp, path\n" }
  for i, m in ipairs(modules) do
    t[#t + 1] = format("%3d, 0x%016x, 0x%016x, 0x%016x, 0x%08x, 0x%08x, %s\n", i - 1, m.base,
                       m["end"], m.entry, 0, 0, m.path)
  end
  t[#t + 1] = format("BB Table: %d bbs\n", #starts)
  for i = 1, #starts do t[#t + 1] = u32(starts[i]) .. u16(sizes[i]) .. u16(mods[i]) end
  out:seek("set", 0)
  out:write(concat(t))
  out:flush()
end

local function on_bb(bb)
  local pc = bb.pc
  local last = bb[#bb]
  local size = last.pc + last.length - pc
  if seen[pc] == size then return end
  seen[pc] = size
  local m = module_at(pc)
  if not m then return end
  local n = #starts + 1
  starts[n], sizes[n], mods[n] = pc - m.base, size < 65536 and size or 65535, module_id(m)
end

--- Start recording; the argument is the file name (see above).
function M.start(...)
  for i = 1, select("#", ...) do
    local a = select(i, ...)
    if type(a) ~= "string" then
      error(format("bad argument #%d to 'start' (string expected, got %s)", i, type(a)), 2)
    end
    local name = a:match("^file=(.+)$") or a
    if name ~= "" then pattern = name end
  end
  lurk.on("init", create)
  lurk.on("module_load", module_id)
  lurk.on("bb", on_bb, { stage = "analysis" })
  lurk.on("fork", function()
    out:close() -- the parent's file (every write is flushed: nothing pending)
    create()
  end)
  lurk.on("exec", write_file) -- this image's blocks; again at exit if the exec fails
  lurk.on("exit", function()
    for _, m in ipairs(lurk.modules()) do module_id(m) end
    write_file() -- left open: a vfork child runs this too (see the header)
    local used = {}
    for i = 1, #mods do used[mods[i]] = true end
    local nused = 0
    for _ in pairs(used) do nused = nused + 1 end
    log("coverage: %d blocks in %d modules written to %s", #starts, nused, outname)
  end, { priority = 100 })
end

return M
