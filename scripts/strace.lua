--- strace: print every system call of the program, one line each, in
-- strace's format: name, decoded arguments, result (errors as
-- `-1 ENOENT (No such file or directory)`), per thread.
--
--   lurk run -t strace -- ls /tmp                   # to lurk's output (stderr)
--   lurk run -t strace=out.txt -- ls /tmp           # to a file (appended)
--   lurk run -t strace=out.txt,s=64,pids -- ./prog  # options, see below
--   lurk run strace.lua out.txt -- ./prog           # the same as a script
--   lurk run -t strace=json=calls.json -- ./prog    # JSON Lines instead
--
-- Arguments (each optional, any order): a file name to write to instead of
-- lurk's output; `s=N` to show N bytes of strings and buffers (strace's -s,
-- default 32); `pids` to prefix every line with `[pid TID] `, which is
-- otherwise done only while the process has several threads, or after it
-- forked (as strace -f does); `json` writes one JSON object per call
-- instead of the text line (JSON Lines, to the file or lurk's output),
-- `json=FILE` the same to FILE (appended). Each object has the facts of
-- the text line: tid, name, args (each as the text shows it), result (the
-- number; absent for `?`), retval (the text after ` = `) and errno (its
-- name, for errors); `"unfinished":true` for an execve's start,
-- `"resumed":true` for its return; the last line is {"exited":STATUS}:
--
--   {"args":["AT_FDCWD","\"/etc/ld.so.cache\"","O_RDONLY|O_CLOEXEC"],"name":"openat","result":3,"retval":"3","tid":4242}
--   {"args":["\"/x\"","O_RDONLY"],"errno":"ENOENT","name":"open","result":-2,"retval":"-1 ENOENT (No such file or directory)","tid":4242}
--
-- Sample output (lurk run -t strace -- /bin/echo hi):
--
--   getrandom("\x3c\x1b\x2b\xbd\xd9\x8e\xcb\x77", 8, GRND_NONBLOCK) = 8
--   brk(NULL)                               = 0x55e05f0e3000
--   openat(AT_FDCWD, "/usr/lib/locale/locale-archive", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)
--   newfstatat(1, "", 0x7ffd2f1c4a50, AT_EMPTY_PATH) = 0
--   write(1, "hi\n", 3)                     = 3
--   close(1)                                = 0
--   exit_group(0)                           = ?
--   +++ exited with 0 +++
--
-- What is traced: the calls the program makes after lurk takes over (the
-- dynamic loader's own start-up calls, before liblurk.so's constructor, are
-- not seen; lurk's own calls never are: the engine calls the kernel
-- directly). A line is printed when the call returns, so a blocking call
-- appears when it completes (strace's `<unfinished ...>` is used only for
-- execve, whose success is never seen: the process image is gone). exit,
-- exit_group and rt_sigreturn print `= ?` as they start. Structures are
-- shown as addresses, except clone3's argument; flags and constants of the
-- common calls are decoded (open, mmap, mprotect, clone, access, lseek,
-- fcntl, futex, signals, *at flags, arch_prctl).
local M = {}

local errno = require "lurk.errno"
local json = require "lurk.json"
local format, byte, char, sub, rep = string.format, string.byte, string.char, string.sub, string.rep
local concat, floor = table.concat, math.floor
local syscall, cstring, read = lurk.syscall, lurk.cstring, lurk.read

local maxstr = 32
local out            -- function(line) writing one line
local always_pid = false
local jsonmode = false     -- one JSON object per call instead of text
local live, nlive = {}, 0  -- threads of this process
local forked = false       -- this process has a parent or a child that is traced too
local pending = {}         -- tid -> the call started on that thread

-- -- Numbers ------------------------------------------------------------------

local function i32(v)
  v = v % 4294967296
  return v >= 2147483648 and v - 4294967296 or v
end

local function u64str(v)
  if v < 0 then v = v + 18446744073709551616 end
  return format("%.0f", v)
end

local function hex(v)
  if v == 0 then return "0" end
  if v < 0 then return format("0x%x", v) end -- two's complement (LuaJIT formats int64)
  return format("0x%x", v)
end

local function ptr(v) return v == 0 and "NULL" or hex(v) end

-- Bit set decoding: list is {bit, name, ...}; leftover bits in hex.
local function flags(v, list, zero)
  v = v % 4294967296
  if v == 0 then return zero or "0" end
  local t = {}
  for i = 1, #list, 2 do
    local b = list[i]
    if v % (2 * b) >= b then
      t[#t + 1] = list[i + 1]
      v = v - b
    end
  end
  if v ~= 0 then t[#t + 1] = hex(v) end
  return concat(t, "|")
end

-- Masks of several bits (O_TMPFILE, O_SYNC) first, then single bits.
local function mflags(v, list)
  v = v % 4294967296
  local t = {}
  for i = 1, #list, 2 do
    local m = list[i]
    if bit.band(v, m) == m then
      t[#t + 1] = list[i + 1]
      v = bit.band(v, bit.bnot(m))
    end
  end
  if v ~= 0 then t[#t + 1] = hex(v) end
  return t
end

-- -- Strings, quoted as strace quotes them ------------------------------------------

local esc = { [34] = '\\"', [92] = "\\\\", [12] = "\\f", [10] = "\\n", [13] = "\\r", [9] = "\\t",
              [11] = "\\v" }

local function esc1(c, nextdigit)
  local b = byte(c)
  local e = esc[b]
  if e then return e .. nextdigit end
  if nextdigit ~= "" then return format("\\%03o", b) .. nextdigit end
  return format("\\%o", b) .. nextdigit
end

local function quote(s)
  return '"' .. s:gsub('([%z\1-\31"\\\127-\255])([0-7]?)', esc1) .. '"'
end

local function quote_hex(s)
  return '"' .. s:gsub(".", function(c) return format("\\x%02x", byte(c)) end) .. '"'
end

-- Up to maxstr bytes of a buffer of len bytes at addr; "..." when longer.
local function buffer(addr, len, hexmode)
  if addr == 0 then return "NULL" end
  if len <= 0 then return '""' end
  local n = len > maxstr and maxstr or len
  local s = read(addr, n)
  if not s then return hex(addr) end
  return (hexmode and quote_hex(s) or quote(s)) .. (len > maxstr and "..." or "")
end

-- A NUL-terminated string: whole for paths, else at most maxstr bytes.
local function str(addr, limit)
  if addr == 0 then return "NULL" end
  local s, cut = cstring(addr, limit or 4096)
  if not s then return hex(addr) end
  return quote(s) .. (cut and "..." or "")
end

local function u64_at(s, i)
  local a, b, c, d, e, f, g, h = byte(s, i, i + 7)
  return ((((((h * 256 + g) * 256 + f) * 256 + e) * 256 + d) * 256 + c) * 256 + b) * 256 + a
end

-- -- Constants ------------------------------------------------------------------------

local O_FLAGS = { 0x410000, "O_TMPFILE", 0x101000, "O_SYNC", 0x40, "O_CREAT", 0x80, "O_EXCL",
  0x100, "O_NOCTTY", 0x200, "O_TRUNC", 0x400, "O_APPEND", 0x800, "O_NONBLOCK", 0x1000, "O_DSYNC",
  0x2000, "O_ASYNC", 0x4000, "O_DIRECT", 0x8000, "O_LARGEFILE", 0x20000, "O_NOFOLLOW",
  0x40000, "O_NOATIME", 0x80000, "O_CLOEXEC", 0x10000, "O_DIRECTORY", 0x200000, "O_PATH" }
local O_ACC = { [0] = "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" }

local function open_flags(v)
  v = v % 4294967296
  local t = mflags(v - v % 4 + 0, O_FLAGS)
  table.insert(t, 1, O_ACC[v % 4])
  return concat(t, "|")
end

local PROT = { 1, "PROT_READ", 2, "PROT_WRITE", 4, "PROT_EXEC", 8, "PROT_SEM",
  0x1000000, "PROT_GROWSDOWN", 0x2000000, "PROT_GROWSUP" }
local MAP_TYPE = { [1] = "MAP_SHARED", [2] = "MAP_PRIVATE", [3] = "MAP_SHARED_VALIDATE" }
local MAP = { 0x10, "MAP_FIXED", 0x20, "MAP_ANONYMOUS", 0x40, "MAP_32BIT", 0x100, "MAP_GROWSDOWN",
  0x800, "MAP_DENYWRITE", 0x1000, "MAP_EXECUTABLE", 0x2000, "MAP_LOCKED", 0x4000, "MAP_NORESERVE",
  0x8000, "MAP_POPULATE", 0x10000, "MAP_NONBLOCK", 0x20000, "MAP_STACK", 0x40000, "MAP_HUGETLB",
  0x80000, "MAP_SYNC", 0x100000, "MAP_FIXED_NOREPLACE", 0x4000000, "MAP_UNINITIALIZED" }
local CLONE = { 0x100, "CLONE_VM", 0x200, "CLONE_FS", 0x400, "CLONE_FILES", 0x800, "CLONE_SIGHAND",
  0x1000, "CLONE_PIDFD", 0x2000, "CLONE_PTRACE", 0x4000, "CLONE_VFORK", 0x8000, "CLONE_PARENT",
  0x10000, "CLONE_THREAD", 0x20000, "CLONE_NEWNS", 0x40000, "CLONE_SYSVSEM", 0x80000, "CLONE_SETTLS",
  0x100000, "CLONE_PARENT_SETTID", 0x200000, "CLONE_CHILD_CLEARTID", 0x400000, "CLONE_DETACHED",
  0x800000, "CLONE_UNTRACED", 0x1000000, "CLONE_CHILD_SETTID", 0x2000000, "CLONE_NEWCGROUP",
  0x4000000, "CLONE_NEWUTS", 0x8000000, "CLONE_NEWIPC", 0x10000000, "CLONE_NEWUSER",
  0x20000000, "CLONE_NEWPID", 0x40000000, "CLONE_NEWNET", 0x80000000, "CLONE_IO" }
local SIG = { "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
  "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
  "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ",
  "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS" }
local AT = { 0x100, "AT_SYMLINK_NOFOLLOW", 0x200, "AT_REMOVEDIR", 0x400, "AT_SYMLINK_FOLLOW",
  0x800, "AT_NO_AUTOMOUNT", 0x1000, "AT_EMPTY_PATH", 0x2000, "AT_STATX_FORCE_SYNC",
  0x4000, "AT_STATX_DONT_SYNC", 0x8000, "AT_RECURSIVE" }
local SEEK = { [0] = "SEEK_SET", "SEEK_CUR", "SEEK_END", "SEEK_DATA", "SEEK_HOLE" }
local F = { [0] = "F_DUPFD", "F_GETFD", "F_SETFD", "F_GETFL", "F_SETFL", "F_GETLK", "F_SETLK",
  "F_SETLKW", "F_SETOWN", "F_GETOWN", "F_SETSIG", "F_GETSIG", [1024] = "F_SETLEASE",
  [1025] = "F_GETLEASE", [1026] = "F_NOTIFY", [1030] = "F_DUPFD_CLOEXEC", [1031] = "F_SETPIPE_SZ",
  [1032] = "F_GETPIPE_SZ", [1033] = "F_ADD_SEALS", [1034] = "F_GET_SEALS" }
local F_NOARG = { [1] = true, [3] = true, [9] = true, [11] = true, [1025] = true, [1032] = true,
  [1034] = true }
local HOW = { [0] = "SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK" }
local ARCH = { [0x1001] = "ARCH_SET_GS", [0x1002] = "ARCH_SET_FS", [0x1003] = "ARCH_GET_FS",
  [0x1004] = "ARCH_GET_GS", [0x1011] = "ARCH_GET_CPUID", [0x1012] = "ARCH_SET_CPUID",
  [0x1021] = "ARCH_GET_XCOMP_SUPP", [0x1022] = "ARCH_GET_XCOMP_PERM",
  [0x1023] = "ARCH_REQ_XCOMP_PERM" }
local FUTEX = { [0] = "FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_FD", "FUTEX_REQUEUE", "FUTEX_CMP_REQUEUE",
  "FUTEX_WAKE_OP", "FUTEX_LOCK_PI", "FUTEX_UNLOCK_PI", "FUTEX_TRYLOCK_PI", "FUTEX_WAIT_BITSET",
  "FUTEX_WAKE_BITSET", "FUTEX_WAIT_REQUEUE_PI", "FUTEX_CMP_REQUEUE_PI", "FUTEX_LOCK_PI2" }
local GRND = { 1, "GRND_NONBLOCK", 2, "GRND_RANDOM", 4, "GRND_INSECURE" }

local function signame(v)
  v = i32(v)
  if SIG[v] then return SIG[v] end
  if v >= 32 and v <= 64 then return format("SIGRT_%d", v - 32) end
  return tostring(v)
end

local function named(t, v) v = i32(v) return t[v] or tostring(v) end

-- -- Arguments by kind (lurk.syscall(x).args) ------------------------------------------
-- Each formatter gets (value, args, i); args is the call's argument list.

local kinds = {
  int = function(v) return tostring(i32(v)) end,
  long = function(v) return format("%d", v) end,
  uint = function(v) return format("%d", v % 4294967296) end,
  hex = hex,
  mode = function(v) return format("0%03o", v % 4294967296) end,
  ptr = ptr,
  fd = function(v) return tostring(i32(v)) end,
  dirfd = function(v) v = i32(v) return v == -100 and "AT_FDCWD" or tostring(v) end,
  path = function(v) return str(v) end,
  buf = function(v, args, i) return buffer(v, args[i + 1] or 0) end,
  size = u64str,
  open_flags = open_flags,
  prot = function(v) return flags(v, PROT, "PROT_NONE") end,
  mmap_flags = function(v)
    v = v % 4294967296
    local t = MAP_TYPE[v % 16] or hex(v % 16)
    local rest = flags(v - v % 16, MAP, "")
    return rest == "" and t or t .. "|" .. rest
  end,
  clone_flags = function(v)
    v = v % 4294967296
    local s = flags(v - v % 256, CLONE, "")
    local sig = v % 256
    if sig ~= 0 then s = s == "" and signame(sig) or s .. "|" .. signame(sig) end
    return s == "" and "0" or s
  end,
  signal = signame,
  access_mode = function(v)
    v = v % 8
    if v == 0 then return "F_OK" end
    return flags(v, { 4, "R_OK", 2, "W_OK", 1, "X_OK" })
  end,
  whence = function(v) return named(SEEK, v) end,
  fcntl_cmd = function(v) return named(F, v) end,
  at_flags = function(v) return flags(v, AT) end,
  sigmask_how = function(v) return named(HOW, v) end,
  arch_prctl = function(v) return ARCH[v] or hex(v) end,
  futex_op = function(v)
    v = v % 4294967296
    local cmd = FUTEX[v % 128] or tostring(v % 128)
    if v % 256 >= 128 then cmd = cmd .. "_PRIVATE" end
    if v % 512 >= 256 then cmd = cmd .. "|FUTEX_CLOCK_REALTIME" end
    return cmd
  end,
  strings = function(v)
    if v == 0 then return "NULL" end
    local t = {}
    for k = 0, 4095 do
      local p = read(v + 8 * k, 8)
      if not p then return hex(v) end
      local a = u64_at(p, 1)
      if a == 0 then break end
      if k == maxstr then t[#t + 1] = "..." break end
      t[#t + 1] = str(a, maxstr)
    end
    return "[" .. concat(t, ", ") .. "]"
  end,
}

-- A signal set (8 bytes at addr): [INT CHLD], or ~[...] for the complement
-- when at least half the signals are in it.
local function sigset(addr)
  if addr == 0 then return "NULL" end
  local s = read(addr, 8)
  if not s then return hex(addr) end
  local set, n = {}, 0
  for sig = 1, 64 do
    local b = byte(s, floor((sig - 1) / 8) + 1)
    local on = floor(b / 2 ^ ((sig - 1) % 8)) % 2 == 1
    set[sig] = on
    if on then n = n + 1 end
  end
  local inv = n >= 32
  local t = {}
  for sig = 1, 64 do
    if set[sig] ~= inv then
      t[#t + 1] = sig < 32 and SIG[sig]:sub(4) or sig == 32 and "RTMIN" or format("RT_%d", sig - 32)
    end
  end
  return (inv and "~[" or "[") .. concat(t, " ") .. "]"
end

local SA = { 0x04000000, "SA_RESTORER", 0x08000000, "SA_ONSTACK", 0x10000000, "SA_RESTART",
  0x40000000, "SA_NODEFER", 0x80000000, "SA_RESETHAND", 4, "SA_SIGINFO", 1, "SA_NOCLDSTOP",
  2, "SA_NOCLDWAIT" }

-- The kernel's struct sigaction: handler, flags, restorer, mask.
local function sigaction(addr)
  if addr == 0 then return "NULL" end
  local s = read(addr, 32)
  if not s then return hex(addr) end
  local h, fl, rs = u64_at(s, 1), u64_at(s, 9), u64_at(s, 17)
  local t = { "{sa_handler=" .. (h == 0 and "SIG_DFL" or h == 1 and "SIG_IGN" or hex(h)),
              "sa_mask=" .. sigset(addr + 24), "sa_flags=" .. flags(fl, SA) }
  if fl % 0x08000000 >= 0x04000000 then t[#t + 1] = "sa_restorer=" .. hex(rs) end
  return concat(t, ", ") .. "}"
end

-- Calls whose arguments strace shows differently from their kinds. A
-- function in fmt is called when the call returns (what the kernel wrote).
local special = {}

special.rt_sigprocmask = function(args, fmt)
  fmt[2] = sigset(args[2])
  fmt[3] = function() return sigset(args[3]) end
end

special.rt_sigaction = function(args, fmt)
  fmt[2] = sigaction(args[2])
  fmt[3] = function() return sigaction(args[3]) end
end

special.getdents64 = function(args, fmt, c)
  c.post = function(r)
    if r < 0 then return end
    local n, off = 0, 0
    while off < r do
      local s = read(args[2] + off + 16, 2)
      if not s then return end
      local len = byte(s, 1) + 256 * byte(s, 2)
      if len == 0 then break end
      n, off = n + 1, off + len
    end
    fmt[2] = format("%s /* %d entries */", hex(args[2]), n)
  end
end

-- open/openat/mq_open: the mode only with O_CREAT or O_TMPFILE.
local function open_like(modeat)
  return function(args, fmt)
    local fl = args[modeat - 1] % 4294967296
    if bit.band(fl, 0x40) == 0 and bit.band(fl, 0x410000) ~= 0x410000 then fmt[modeat] = nil end
  end
end
special.open, special.openat = open_like(3), open_like(4)

special.execve = function(args, fmt)
  local n = 0
  while args[3] ~= 0 and n < 100000 do
    local p = read(args[3] + 8 * n, 8)
    if not p or u64_at(p, 1) == 0 then break end
    n = n + 1
  end
  fmt[3] = format("%s /* %d var%s */", ptr(args[3]), n, n == 1 and "" or "s")
end

special.fcntl = function(args, fmt)
  local cmd = i32(args[2])
  if F_NOARG[cmd] then fmt[3] = nil
  elseif cmd == 2 then fmt[3] = args[3] % 2 == 1 and "FD_CLOEXEC" or "0"
  elseif cmd == 4 then fmt[3] = open_flags(args[3])
  elseif cmd == 0 or cmd == 1030 then fmt[3] = tostring(i32(args[3])) end
end

-- fcntl's F_GETFD and F_GETFL results are flags.
local function fcntl_result(c, r)
  local cmd = i32(c.args[2])
  if r <= 0 then return nil end
  if cmd == 1 then return format("%s (flags %s)", hex(r), r % 2 == 1 and "FD_CLOEXEC" or "0") end
  if cmd == 3 then return format("%s (flags %s)", hex(r), open_flags(r)) end
end

special.futex = function(args, fmt)
  -- strace shows as many arguments as the operation uses
  local cmd = args[2] % 128
  local n = ({ [0] = 4, 3, 3, 5, 6, 6, 4, 2, 2, 5, 5, 5, 6, 4 })[cmd] or 6
  fmt[3] = tostring(i32(args[3]))
  if cmd == 9 or cmd == 10 then -- uaddr2 is unused: the bitset follows the timeout
    fmt[5] = args[6] % 4294967296 == 4294967295 and "FUTEX_BITSET_MATCH_ANY" or hex(args[6])
  end
  for k = n + 1, 6 do fmt[k] = nil end
end

local IOCTL = { [0x5401] = "TCGETS", [0x5402] = "TCSETS", [0x5403] = "TCSETSW",
  [0x5404] = "TCSETSF", [0x540f] = "TIOCGPGRP", [0x5410] = "TIOCSPGRP", [0x5413] = "TIOCGWINSZ",
  [0x5414] = "TIOCSWINSZ", [0x541b] = "FIONREAD", [0x5421] = "FIONBIO", [0x5450] = "FIONCLEX",
  [0x5451] = "FIOCLEX" }
special.ioctl = function(args, fmt) fmt[2] = IOCTL[args[2] % 4294967296] or fmt[2] end

local AF = { [0] = "AF_UNSPEC", "AF_UNIX", "AF_INET", [10] = "AF_INET6", [16] = "AF_NETLINK",
  [17] = "AF_PACKET" }
local SOCK = { "SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET",
  [10] = "SOCK_PACKET" }
special.socket = function(args, fmt)
  fmt[1] = named(AF, args[1])
  local ty = args[2] % 4294967296
  local t = { SOCK[ty % 16] or tostring(ty % 16) }
  if bit.band(ty, 0x80000) ~= 0 then t[#t + 1] = "SOCK_CLOEXEC" end
  if bit.band(ty, 0x800) ~= 0 then t[#t + 1] = "SOCK_NONBLOCK" end
  fmt[2] = concat(t, "|")
end

special.getrandom = function(args, fmt) fmt[3] = flags(args[3], GRND) end

local MADV = { [0] = "MADV_NORMAL", "MADV_RANDOM", "MADV_SEQUENTIAL", "MADV_WILLNEED",
  "MADV_DONTNEED", [8] = "MADV_FREE", [9] = "MADV_REMOVE", [10] = "MADV_DONTFORK",
  [11] = "MADV_DOFORK", [12] = "MADV_MERGEABLE", [13] = "MADV_UNMERGEABLE", [14] = "MADV_HUGEPAGE",
  [15] = "MADV_NOHUGEPAGE", [16] = "MADV_DONTDUMP", [17] = "MADV_DODUMP", [18] = "MADV_WIPEONFORK",
  [19] = "MADV_KEEPONFORK", [20] = "MADV_COLD", [21] = "MADV_PAGEOUT", [22] = "MADV_POPULATE_READ",
  [23] = "MADV_POPULATE_WRITE", [24] = "MADV_DONTNEED_LOCKED", [25] = "MADV_COLLAPSE",
  [100] = "MADV_HWPOISON" }
special.madvise = function(args, fmt) fmt[3] = named(MADV, args[3]) end

special.clone = function(args, fmt)
  -- strace shows clone's arguments by name, in this order
  local fl = args[1] % 4294967296
  local t = { "child_stack=" .. ptr(args[2]), "flags=" .. fmt[1] }
  if bit.band(fl, 0x100000) ~= 0 then t[#t + 1] = "parent_tid=" .. ptr(args[3]) end
  if bit.band(fl, 0x80000) ~= 0 then t[#t + 1] = "tls=" .. ptr(args[5]) end
  if bit.band(fl, 0x1200000) ~= 0 then t[#t + 1] = "child_tidptr=" .. ptr(args[4]) end
  for k = 1, 5 do fmt[k] = t[k] end
end

special.clone3 = function(args, fmt)
  local s = read(args[1], 64)
  if not s then return end
  local f = {}
  for k = 1, 8 do f[k] = u64_at(s, 8 * k - 7) end
  local t = { "flags=" .. kinds.clone_flags(f[1] - f[1] % 256) }
  local fl = f[1] % 4294967296
  if bit.band(fl, 0x1000) ~= 0 then t[#t + 1] = "pidfd=" .. hex(f[2]) end
  if bit.band(fl, 0x1200000) ~= 0 then t[#t + 1] = "child_tid=" .. hex(f[3]) end
  if bit.band(fl, 0x100000) ~= 0 then t[#t + 1] = "parent_tid=" .. hex(f[4]) end
  t[#t + 1] = "exit_signal=" .. (f[5] == 0 and "0" or signame(f[5]))
  t[#t + 1] = "stack=" .. ptr(f[6])
  t[#t + 1] = "stack_size=" .. hex(f[7])
  if bit.band(fl, 0x80000) ~= 0 then t[#t + 1] = "tls=" .. hex(f[8]) end
  fmt[1] = "{" .. concat(t, ", ") .. "}"
end

-- -- Results --------------------------------------------------------------------------

local function result(info, r)
  if r < 0 and r >= -4095 and info.ret ~= "none" then
    local n = -r
    local name = errno.name[n]
    if name then return format("-1 %s (%s)", name, errno.message[n]) end
    return format("-1 ERRNO_%d (Unknown error %d)", n, n)
  end
  local k = info.ret
  if k == "hex" or k == "ptr" then return hex(r) end
  if k == "mode" then return format("0%o", r) end
  if k == "none" then return "?" end
  return format("%d", r)
end

-- -- Lines ----------------------------------------------------------------------------

local function prefix(tid)
  if always_pid or nlive > 1 or forked then return format("[pid %d] ", tid) end
  return ""
end

-- strace puts " = " at column 40 when the call is shorter.
local function emit(tid, call, res)
  local line = prefix(tid) .. call
  if #line < 39 then line = line .. rep(" ", 39 - #line) end
  out(line .. " = " .. res .. "\n")
end

local function call_args(c)
  local t = {}
  for k = 1, c.nargs do
    local f = c.fmt[k]
    if f == nil then break end
    if type(f) == "function" then f = f() end
    t[#t + 1] = f
  end
  return t
end

local function call_text(c)
  return c.name .. "(" .. concat(call_args(c), ", ") .. ")"
end

-- The JSON line of call c (r: its result, nil for "?"; res: its text).
local function emit_json(tid, c, r, res, extra)
  local o = { tid = tid, name = c.name, args = json.array(call_args(c)), result = r, retval = res }
  if r and r < 0 and r >= -4095 and res:match("^%-1 ") then o.errno = res:match("^%-1 (%S+)") end
  if extra then o[extra] = true end
  out(json.encode(o) .. "\n")
end

local NORETURN = { exit = true, exit_group = true, rt_sigreturn = true }

local function on_pre(e)
  local info = syscall(e.number)
  local name = e.name
  local args = e.args
  local c = { name = name, number = e.number, args = { args[1], args[2], args[3], args[4],
              args[5], args[6] }, fmt = {}, info = info }
  local kl = info and info.args or { "hex", "hex", "hex", "hex", "hex", "hex" }
  c.nargs = #kl
  local a = c.args
  for k = 1, #kl do
    local kind = kl[k]
    if kind == "outbuf" then
      c.fmt[k] = "\0out" -- filled in at post
    else
      c.fmt[k] = (kinds[kind] or hex)(a[k], a, k)
    end
  end
  if special[name] then special[name](a, c.fmt, c) end
  if NORETURN[name] then
    if jsonmode then emit_json(e.tid, c, nil, "?") else emit(e.tid, call_text(c), "?") end
    return
  end
  if name == "execve" or name == "execveat" then
    if jsonmode then emit_json(e.tid, c, nil, nil, "unfinished")
    else out(prefix(e.tid) .. call_text(c) .. " <unfinished ...>\n") end
    c.resumed = true
  end
  -- A call restarted after a signal raises pre again: the first start is dropped.
  pending[e.tid] = c
end

local function on_post(e)
  local c = pending[e.tid]
  if not c or c.number ~= e.number then return end -- a new thread's or child's first return
  pending[e.tid] = nil
  local r = e.result
  for k = 1, c.nargs do
    if c.fmt[k] == "\0out" then
      local len = r
      if c.name == "getcwd" and r > 0 then len = r - 1 end
      c.fmt[k] = r >= 0 and buffer(c.args[k], len, c.name == "getrandom") or hex(c.args[k])
    end
  end
  if c.post then c.post(r) end
  local res = c.name == "fcntl" and fcntl_result(c, r) or result(c.info or { ret = "int" }, r)
  if c.name == "clone3" and r > 0 then -- the parent_tid the kernel wrote
    local s = read(c.args[1], 32)
    if s and bit.band(u64_at(s, 1) % 4294967296, 0x100000) ~= 0 then
      local v = u64_at(s, 25) ~= 0 and read(u64_at(s, 25), 4)
      if v then c.fmt[1] = c.fmt[1] .. format(" => {parent_tid=[%d]}", i32(u64_at(v .. "\0\0\0\0", 1))) end
    end
  end
  if (c.name == "clone" or c.name == "clone3" or c.name == "fork" or c.name == "vfork") and r > 0 then
    local fl = 0 -- a new process, not a thread: lines get the prefix from now on
    if c.name == "clone" then fl = c.args[1] % 4294967296
    elseif c.name == "clone3" then fl = u64_at(read(c.args[1], 8) or "\0\0\0\0\0\0\0\0", 1) % 4294967296 end
    if bit.band(fl, 0x10000) == 0 then forked = true end
  end
  if jsonmode then
    emit_json(e.tid, c, r, res, c.resumed and "resumed" or nil)
  elseif c.resumed then
    out(prefix(e.tid) .. "<... " .. c.name .. " resumed>) = " .. res .. "\n")
  else
    emit(e.tid, call_text(c), res)
  end
end

--- Start tracing: args as on the command line (file name, s=N, pids).
function M.start(...)
  local file
  for i = 1, select("#", ...) do
    local a = select(i, ...)
    if type(a) ~= "string" then
      error(format("bad argument #%d to 'start' (string expected, got %s)", i, type(a)), 2)
    end
    local n = a:match("^s=(%d+)$")
    if n then maxstr = tonumber(n)
    elseif a == "pids" then always_pid = true
    elseif a == "json" then jsonmode = true
    elseif a:match("^json=.") then jsonmode, file = true, a:sub(6)
    elseif a ~= "" then file = a end
  end
  if file then
    local f = assert(io.open(file, "a"))
    f:setvbuf("no")
    out = function(s) f:write(s) end
  else
    local w = io.stderr
    out = function(s) w:write(s) end
  end
  lurk.on("syscall_pre", on_pre)
  lurk.on("syscall_post", on_post)
  lurk.on("thread_init", function(e)
    if not live[e.tid] then live[e.tid] = true nlive = nlive + 1 end
  end)
  lurk.on("thread_exit", function(e)
    if live[e.tid] then live[e.tid] = nil nlive = nlive - 1 end
  end)
  lurk.on("fork", function()
    live, nlive, pending, forked = { [lurk.tid()] = true }, 1, {}, true
  end)
  lurk.on("exit", function(e)
    if jsonmode then out(json.encode({ tid = lurk.tid(), exited = e.status }) .. "\n")
    else out(prefix(lurk.tid()) .. format("+++ exited with %d +++\n", e.status)) end
  end)
end

return M
