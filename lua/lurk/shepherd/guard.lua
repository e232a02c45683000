--- lurk.shepherd.guard: shepherd's refusal of the program's system calls
-- on lurk's own memory (the code cache, the engine's mappings, liblurk.so,
-- the shadow that holds shepherd's marks).
--
--   local guard = require "lurk.shepherd.guard"
--   lurk.on("syscall_pre", function(e)
--     local why = guard.check(e)          --> nil, or why the call is refused
--   end, { only = guard.calls })
--
-- The calls: mprotect, pkey_mprotect, munmap, mremap, madvise and mmap
-- with MAP_FIXED over a range that overlaps lurk's memory;
-- process_vm_writev into this process over lurk's memory; and opening
-- this process's /proc/.../mem for writing (which writes any page, even
-- read-only ones). A plain store by the program into lurk's memory is not
-- seen here: the code cache is RWX and the engine's data RW (docs/tools.md,
-- "shepherd").
local M = {}

local ffi = require "ffi"
local band = bit.band
local format = string.format

M.calls = { "mprotect", "pkey_mprotect", "munmap", "mremap", "madvise", "mmap",
            "process_vm_writev", "open", "openat", "openat2" }

local RANGE_CALLS = { mprotect = true, pkey_mprotect = true, munmap = true, mremap = true, madvise = true }
local MAP_FIXED, O_ACCMODE = 0x10, 3
local u64p = ffi.typeof("const uint64_t *")

--- lurk's range overlapping [lo, hi), if any: its kind and bounds.
function M.overlap(lo, hi)
  if hi <= lo then return nil end
  for _, r in ipairs(lurk.engine_ranges()) do
    if lo < r.hi and r.lo < hi then return r end
  end
  return nil
end

local function describe(r, name, lo, len)
  return format("%s(0x%x, %d) on lurk's memory (%s 0x%x-0x%x)", name, lo, len, r.kind, r.lo, r.hi)
end

-- The remote iovecs of a process_vm_writev: the first one over lurk's memory.
local function vm_writev(e)
  local pid, riov, n = e.args[1] % 2^32, e.args[4], e.args[5]
  if pid ~= lurk.pid() and pid ~= lurk.tid() then return nil end
  for i = 0, math.min(n, 1024) - 1 do
    local s = lurk.read(riov + 16 * i, 16)
    if not s then return nil end
    local p = ffi.cast(u64p, ffi.cast("const char *", s))
    local base, len = tonumber(p[0]), tonumber(p[1])
    local r = M.overlap(base, base + len)
    if r then return describe(r, "process_vm_writev", base, len) end
  end
  return nil
end

-- Is path this process's (or one of its threads') mem file?
local function own_mem(path)
  local pid = path:match("^/proc/([%w-]+)/mem$") or path:match("^/proc/([%w-]+)/task/%d+/mem$")
  return pid == "self" or pid == "thread-self" or pid == tostring(lurk.pid())
end

local normal = require("lurk.path").normalize

-- The absolute path an open names: a relative one is taken from its
-- directory fd (openat, openat2) or the working directory, as the kernel
-- does (`openat(open("/proc/self"), "mem")` is this process's mem file).
local function absolute(name, a, path)
  if path:sub(1, 1) == "/" then return normal(path) end
  local dirfd = name == "open" and -100 or a[1] % 2^32
  if dirfd >= 2^31 then dirfd = dirfd - 2^32 end
  local dir = lurk.readlink(dirfd == -100 --[[AT_FDCWD]] and "/proc/self/cwd" or "/proc/self/fd/" .. dirfd)
  if not dir then return normal(path) end
  return normal(dir .. "/" .. path)
end

--- Why system call e (a syscall_pre event) must be refused, or nil.
function M.check(e)
  local name, a = e.name, e.args
  if name == "open" or name == "openat" or name == "openat2" then
    local path = lurk.cstring(a[name == "open" and 1 or 2])
    if not path then return nil end
    path = absolute(name, a, path)
    if not own_mem(path) then return nil end
    local flags = name == "open" and a[2] or name == "openat" and a[3] or nil
    if name == "openat2" then   -- struct open_how: flags first
      local s = lurk.read(a[3], 8)
      flags = s and tonumber(ffi.cast(u64p, ffi.cast("const char *", s))[0]) or 2
    end
    if band(flags % 2^32, O_ACCMODE) == 0 then return nil end
    return format("%s of %s for writing (it writes any page of the process, lurk's included)", name, path)
  elseif name == "process_vm_writev" then
    return vm_writev(e)
  elseif name == "mmap" then
    if band(a[4] % 2^32, MAP_FIXED) == 0 then return nil end
  elseif not RANGE_CALLS[name] then
    return nil
  end
  local lo, len = a[1], a[2]
  local r = M.overlap(lo - lo % 4096, lo + len)
  if r then return describe(r, name, lo, len) end
  if name == "mremap" and band(a[4] % 2^32, 2) ~= 0 then   -- MREMAP_FIXED: the new place too
    r = M.overlap(a[5], a[5] + a[3])
    if r then return describe(r, name, a[5], a[3]) end
  end
  return nil
end

return M
