--- lurk.semu.calls: the system calls semu logs, as lurk.protos prototypes,
-- and their decoding into a behaviour-log event: named arguments (numbers
-- for numbers, strace-style text for flags, absolute paths resolved
-- against the cwd and the dirfd, sockaddrs as {family, address, port}).
--
--   local calls = require "lurk.semu.calls"
--   calls.names()                 --> { "open", "openat", ... } (the filter)
--   calls.decode(e, fs)           --> { call = "openat", category = "file", args = {...} }
--
-- fs: the path helpers { cwd = function() end, fdpath = function(fd) end }.
local M = {}

local protos = require "lurk.protos"
local T = protos.types
local format, byte = string.format, string.byte

-- category, prototype; `paths`: pairs {dirfd argument or false, path argument}
-- to resolve; `fdpath`: an fd argument whose file is shown as "file".
local DEFS = {
  -- files
  { "file", "fd! open(path path, oflags flags, omode mode)", paths = { { false, 1 } } },
  { "file", "fd! creat(path path, mode mode)", paths = { { false, 1 } } },
  { "file", "fd! openat(dirfd dirfd, path path, oflags flags, omode mode)", paths = { { 1, 2 } } },
  { "file", "ssize! write(fd fd, ptr buf, size count)", fdpath = 1 },
  { "file", "ssize! pwrite64(fd fd, ptr buf, size count, long offset)", fdpath = 1 },
  { "file", "int! rename(path from, path to)", paths = { { false, 1 }, { false, 2 } } },
  { "file", "int! renameat(dirfd olddirfd, path from, dirfd newdirfd, path to)", paths = { { 1, 2 }, { 3, 4 } } },
  { "file", "int! renameat2(dirfd olddirfd, path from, dirfd newdirfd, path to, uint flags)", paths = { { 1, 2 }, { 3, 4 } } },
  { "file", "int! unlink(path path)", paths = { { false, 1 } } },
  { "file", "int! unlinkat(dirfd dirfd, path path, atflags flags)", paths = { { 1, 2 } } },
  { "file", "int! rmdir(path path)", paths = { { false, 1 } } },
  { "file", "int! mkdir(path path, mode mode)", paths = { { false, 1 } } },
  { "file", "int! mkdirat(dirfd dirfd, path path, mode mode)", paths = { { 1, 2 } } },
  { "file", "int! chmod(path path, mode mode)", paths = { { false, 1 } } },
  { "file", "int! fchmod(fd fd, mode mode)", fdpath = 1 },
  { "file", "int! fchmodat(dirfd dirfd, path path, mode mode)", paths = { { 1, 2 } } },
  { "file", "int! chown(path path, int uid, int gid)", paths = { { false, 1 } } },
  { "file", "int! lchown(path path, int uid, int gid)", paths = { { false, 1 } } },
  { "file", "int! fchown(fd fd, int uid, int gid)", fdpath = 1 },
  { "file", "int! fchownat(dirfd dirfd, path path, int uid, int gid, atflags flags)", paths = { { 1, 2 } } },
  { "file", "int! link(path from, path to)", paths = { { false, 1 }, { false, 2 } } },
  { "file", "int! linkat(dirfd olddirfd, path from, dirfd newdirfd, path to, atflags flags)", paths = { { 1, 2 }, { 3, 4 } } },
  { "file", "int! symlink(path target, path path)", paths = { { false, 2 } } },
  { "file", "int! symlinkat(path target, dirfd dirfd, path path)", paths = { { 2, 3 } } },
  { "file", "int! truncate(path path, long length)", paths = { { false, 1 } } },
  { "file", "int! ftruncate(fd fd, long length)", fdpath = 1 },
  -- processes
  { "process", "int! fork()" },
  { "process", "int! vfork()" },
  { "process", "int! clone(hex flags, ptr stack, ptr parent_tid, ptr child_tid, hex tls)" },
  { "process", "int! clone3(ptr args, size size)" },
  { "process", "int! execve(path path, ptr argv, ptr envp)", paths = { { false, 1 } }, argv = 2 },
  { "process", "int! execveat(dirfd dirfd, path path, ptr argv, ptr envp, atflags flags)", paths = { { 1, 2 } }, argv = 3 },
  { "process", "int! kill(int pid, signal sig)" },
  { "process", "int! tkill(int tid, signal sig)" },
  { "process", "int! tgkill(int tgid, int tid, signal sig)" },
  { "process", "long! ptrace(long request, int pid, ptr addr, ptr data)" },
  { "process", "int! prctl(int option, hex arg2, hex arg3, hex arg4, hex arg5)" },
  { "process", "int! setuid(int uid)" },
  { "process", "int! setgid(int gid)" },
  { "process", "int! setreuid(int ruid, int euid)" },
  { "process", "int! setregid(int rgid, int egid)" },
  { "process", "int! setresuid(int ruid, int euid, int suid)" },
  { "process", "int! setresgid(int rgid, int egid, int sgid)" },
  { "process", "int! setfsuid(int uid)" },
  { "process", "int! setfsgid(int gid)" },
  { "process", "int! setgroups(int size, ptr list)" },
  -- network
  { "network", "fd! socket(af domain, socktype type, int protocol)" },
  { "network", "int! connect(fd fd, sockaddr addr, uint addrlen)" },
  { "network", "int! bind(fd fd, sockaddr addr, uint addrlen)" },
  { "network", "int! listen(fd fd, int backlog)" },
  { "network", "fd! accept(fd fd, ptr addr, ptr addrlen)" },
  { "network", "fd! accept4(fd fd, ptr addr, ptr addrlen, socktype flags)" },
  { "network", "ssize! sendto(fd fd, ptr buf, size len, hex flags, sockaddr addr, uint addrlen)" },
  -- memory (logged only when the memory becomes executable: see M.wanted)
  { "memory", "ptr mmap(ptr start, size length, prot prot, mapflags flags, fd fd, long offset)" },
  { "memory", "int! mprotect(ptr start, size length, prot prot)" },
}

local byname = {}
for _, d in ipairs(DEFS) do
  local p = assert(protos.parse(d[2]))
  d.proto, d.category = p, d[1]
  byname[p.name] = d
end
M.defs = byname

--- The names of the calls semu logs (for the syscall filter).
function M.names()
  local t = {}
  for _, d in ipairs(DEFS) do t[#t + 1] = d.proto.name end
  return t
end

-- -- Paths ------------------------------------------------------------------------

--- path made absolute against base (a directory): lurk.path.normalize.
M.normalize = require("lurk.path").normalize

local function s32(v)
  v = tonumber(v % 4294967296)
  return v >= 2147483648 and v - 4294967296 or v
end
M.s32 = s32

--- The absolute path of path (app memory) at dirfd (false: the cwd).
function M.resolve(fs, dirfd, path)
  if path:sub(1, 1) == "/" then
    local p = M.normalize(path)
    return fs.virt and fs.virt(p) or p
  end
  local base
  if dirfd and s32(dirfd) ~= -100 then base = fs.fdpath(s32(dirfd)) else base = fs.cwd() end
  return M.normalize(path, base or "/")
end

-- -- Values -------------------------------------------------------------------------

local function sockaddr(addr, alen)
  if addr == 0 then return nil end
  local s = lurk.read(addr, math.min(tonumber(alen) or 0, 110))
  if not s or #s < 2 then return nil end
  local fam = byte(s, 1) + 256 * byte(s, 2)
  if fam == 2 and #s >= 8 then
    return { family = "AF_INET", address = format("%d.%d.%d.%d", byte(s, 5, 8)),
             port = byte(s, 3) * 256 + byte(s, 4) }
  elseif fam == 10 and #s >= 24 then
    local h = {}
    for i = 9, 23, 2 do h[#h + 1] = format("%x", byte(s, i) * 256 + byte(s, i + 1)) end
    return { family = "AF_INET6", address = table.concat(h, ":"), port = byte(s, 3) * 256 + byte(s, 4) }
  elseif fam == 1 then
    local p = s:sub(3):match("^[^%z]*")
    if p == "" and #s > 3 then p = "@" .. s:sub(4):match("^[^%z]*") end -- abstract
    return { family = "AF_UNIX", path = p }
  end
  return { family = T.af.fmt(fam) }
end

local function strings(addr)
  local out = {}
  if addr == 0 then return out end
  for i = 0, 4095 do
    local b = lurk.read(addr + 8 * i, 8)
    if not b then break end
    local p = 0
    for k = 8, 1, -1 do p = p * 256 + byte(b, k) end
    if p == 0 then break end
    out[#out + 1] = lurk.cstring(p, 4096) or "?"
  end
  return out
end
M.strings = strings

local src = { maxstr = 64 }
function src:cstring(a, max) return lurk.cstring(a, max) end
function src:read(a, n) return lurk.read(a, n) end

-- One argument as a JSON value.
local function value(t, v, e)
  if t == T.path then return v ~= 0 and lurk.cstring(v, 4096) or nil end
  if t == T.mode then return t.fmt(v) end
  if t.num then return t.num(v) end
  if t == T.long or t == T.size or t == T.ssize or t == T.ulong then return tonumber(v) end
  if t == T.ptr or t == T.hex then return tonumber(v) end
  return t.fmt(v, src, e)
end

--- Is the event e (syscall_pre) one for the log? mmap/mprotect only when
-- they make memory executable (and mmap only for memory that is not a
-- file's: mapping a module is the module_load event).
function M.wanted(e)
  local n = e.name
  if n == "mmap" then
    return s32(e.args[3]) % 8 >= 4 and s32(e.args[5]) == -1
  elseif n == "mprotect" then
    return s32(e.args[3]) % 8 >= 4
  end
  return byname[n] ~= nil
end

--- Decode the pre event e: { call, category, args = { name = value } };
-- paths absolute. fs: { cwd(), fdpath(fd) }.
function M.decode(e, fs)
  local d = byname[e.name]
  local p = d.proto
  local args, ctx = {}, {}
  for i, a in ipairs(p.args) do
    ctx.prev = e.args[i - 1]
    local ok, v = pcall(value, a.type, e.args[i], ctx)
    args[a.name] = ok and v or nil
  end
  if e.name == "kill" or e.name == "tkill" or e.name == "tgkill" then
    local k = e.name == "tgkill" and 3 or 2
    args[p.args[k].name] = T.signal.fmt(e.args[k])
  end
  for _, pr in ipairs(d.paths or {}) do
    local name = p.args[pr[2]].name
    if type(args[name]) == "string" then
      args[name] = M.resolve(fs, pr[1] and e.args[pr[1]], args[name])
    end
  end
  if d.fdpath then args.file = fs.fdpath(s32(e.args[d.fdpath])) end
  if d.argv then args.argv = strings(e.args[d.argv]) end
  if p.args[2] and p.args[2].type == T.sockaddr then
    args.addr = sockaddr(e.args[2], e.args[3])
  elseif e.name == "sendto" then
    args.addr = sockaddr(e.args[5], e.args[6])
  end
  if e.name == "write" or e.name == "pwrite64" or e.name == "sendto" then args.buf = nil end
  args.envp = nil
  return { call = e.name, category = d.category, args = args }
end

--- The result as a JSON value and the errno name for an error.
function M.result(name, r)
  r = tonumber(r)
  if r < 0 and r >= -4095 then return r, (require "lurk.errno").name[-r] or tostring(-r) end
  return r, nil
end

return M
