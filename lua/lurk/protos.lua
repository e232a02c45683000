--- lurk.protos: C prototypes of common libc functions, and their arguments
-- and results formatted as ltrace and strace show them (scripts/calltrace).
--
--   local protos = require "lurk.protos"
--   local p = protos.get("openat")      -- parsed "fd! openat(dirfd, path, oflags, omode)"
--   print(p.ret.kind, #p.args)          --> fd  4
--   protos.add("int mycmp(string a, string b)")      -- a prototype of one's own
--   local src = { ints = { -100, 0x7000, 0x80000 } } -- where the values come from:
--   function src:arg(i) return self.ints[i] end      -- (calltrace reads lurk's call object)
--   function src:cstring(a, max) return "/etc/passwd" end
--   print(protos.args(p, src))          --> AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC
--   print(protos.result(p, src, 3))     --> 3  false   (text, is it an error)
--
-- A prototype is `RET NAME(TYPE [NAME], ...)` with lurk's type names
-- (ltrace.conf's idea, C's spelling): `int uint long ulong size ssize hex
-- ptr bool char double float string path format sformat buf(N) outbuf(N)
-- outstr fd dirfd oflags omode mode amode atflags whence signal af socktype
-- sockaddr prot mapflags dlflags fcntlcmd lcat func dirent errnum void`; a
-- RET ending in `!` says which results are errors (-1, NULL; for `errnum`
-- any non-zero result), and a last `...` takes the variadic arguments
-- (printed after a `format` argument by its conversions). `buf(N)`: bytes
-- whose length is argument N (`buf(2*3)`: N times M); `outbuf(N)`,
-- `outbuf(ret)`, `outstr`: what the function writes there, printed when
-- it returns. `omode` is printed only when the flags before it have
-- O_CREAT or O_TMPFILE (open's third argument). The functions known are
-- in lua/lurk/protos_libc.lua; the types and formats in docs/lua-api.md
-- ("lurk.protos").
--
-- Sources: `src:arg(i)` (integer argument i, a number or an int64/uint64
-- cdata), `src:farg(i)` (floating-point argument i, a double),
-- `src:cstring(addr, max)` (nil when unreadable), `src:read(addr, n)`,
-- `src:sym(addr)` (a name or nil; optional), `src.maxstr` (string cut,
-- default 32). Pure Lua: runs in LuaJIT and in Lua 5.1-5.4.
local M = {}

local format, byte, sub, concat, floor = string.format, string.byte, string.sub, table.concat, math.floor
local type, tonumber, tostring = type, tonumber, tostring

local band = rawget(_G, "bit") and bit.band or load("return function(a, b) return a & b end")()
local hasffi, ffi = pcall(require, "ffi")
if not hasffi then ffi = nil end
-- unsigned decimal of a negative integer, in a Lua with 64-bit integers (LuaJIT uses its FFI)
local UDEC54 = not ffi and math.type and load([[return function(v)
  if math.type(v) ~= "integer" then return nil end
  local q = (v >> 1) // 5
  return string.format("%d%d", q, v - q * 10)
end]])
UDEC54 = UDEC54 and UDEC54()

-- -- Numbers ------------------------------------------------------------------
-- Values are Lua numbers (signed, exact) or LuaJIT 64-bit cdata.

local function u32(v)
  if type(v) ~= "number" then return tonumber(v % 4294967296) end
  return v % 4294967296
end

local function s32(v)
  v = u32(v)
  return v >= 2147483648 and v - 4294967296 or v
end

local function dec(v) return format("%d", v) end   -- signed 64 (cdata: as int64)

local function udec(v)
  if type(v) == "number" and v >= 0 then return format("%d", v) end
  if ffi then
    if type(v) == "number" then v = ffi.cast("int64_t", v) end
    return (tostring(ffi.cast("uint64_t", v)):gsub("U?LL$", ""))
  end
  local u = UDEC54 and UDEC54(v) -- Lua 5.3+: 64-bit integers
  return u or format("%.0f", v + 18446744073709551616)
end

local function hex(v)
  if v == 0 then return "0" end
  return format("0x%x", v)
end

local function ptr(v) if v == 0 then return "NULL" end return format("0x%x", v) end

-- -- Strings --------------------------------------------------------------------

local ESC = { [34] = '\\"', [92] = "\\\\", [12] = "\\f", [10] = "\\n", [13] = "\\r", [9] = "\\t",
  [11] = "\\v", [7] = "\\a", [8] = "\\b" }

local function esc1(c, nextdigit)
  local b = byte(c)
  local e = ESC[b]
  if e then return e .. nextdigit end
  if nextdigit ~= "" then return format("\\%03o", b) .. nextdigit end
  return format("\\%o", b) .. nextdigit
end

--- A C string literal of s: `"a\tb\n"`, other bytes below 32 and from 127
-- in octal (`\33`, `\0331` before a digit: `\0331`), as strace writes them.
function M.quote(s)
  return '"' .. s:gsub('([%z\1-\31"\\\127-\255])([0-7]?)', esc1) .. '"'
end
local quote = M.quote

local function maxstr(src) return src.maxstr or 32 end

-- The string at addr cut at max bytes ("..." after it when longer).
local function cstr(addr, src, max)
  if addr == 0 then return "NULL" end
  max = max or maxstr(src)
  local s = src:cstring(addr, max + 1)
  if not s then return ptr(addr) end
  if #s > max then return quote(sub(s, 1, max)) .. "..." end
  return quote(s)
end

-- len bytes at addr, at most maxstr shown.
local function bytes(addr, len, src)
  if addr == 0 then return "NULL" end
  if type(len) ~= "number" then len = tonumber(len) end
  if len <= 0 then return '""' end
  local max = maxstr(src)
  local s = src:read(addr, len > max and max or len)
  if not s then return ptr(addr) end
  return quote(s) .. (len > max and "..." or "")
end

local CHAR = { [0] = "\\0", [39] = "\\'", [92] = "\\\\", [10] = "\\n", [13] = "\\r", [9] = "\\t",
  [11] = "\\v", [12] = "\\f", [7] = "\\a", [8] = "\\b" }

local function char(v)
  local c = u32(v) % 256
  local e = CHAR[c]
  if e then return "'" .. e .. "'" end
  if c < 32 or c >= 127 then return format("'\\%o'", c) end
  return "'" .. string.char(c) .. "'"
end

-- The fewest digits that read back as x.
local function double(x)
  if x ~= x then return "nan" end
  if x == 1 / 0 then return "inf" elseif x == -1 / 0 then return "-inf" end
  local s = format("%.15g", x)
  if tonumber(s) ~= x then s = format("%.17g", x) end
  return s
end

-- A float passed in the low half of an xmm register, read as a double.
local function float(x)
  if not ffi then return double(x) end
  local u = ffi.new("union { double d; float f[2]; }")
  u.d = x
  return double(tonumber(u.f[0]))
end

-- -- Flags and constants ---------------------------------------------------------------

-- Bits of v named by list {mask, name, ...} (masks of several bits first);
-- what is left in hex; zero when none.
local function flags(v, list, zero)
  v = u32(v)
  if v == 0 then return zero or "0" end
  local t = {}
  for i = 1, #list, 2 do
    local m = list[i]
    if band(v, m) % 4294967296 == m then
      t[#t + 1] = list[i + 1]
      v = v - m
    end
  end
  if v ~= 0 then t[#t + 1] = format("0x%x", v) end
  return concat(t, "|")
end

local function named(t) return function(v) v = s32(v) return t[v] or tostring(v) end end

local O_FLAGS = { 0x410000, "O_TMPFILE", 0x101000, "O_SYNC", 0x40, "O_CREAT", 0x80, "O_EXCL",
  0x100, "O_NOCTTY", 0x200, "O_TRUNC", 0x400, "O_APPEND", 0x800, "O_NONBLOCK", 0x1000, "O_DSYNC",
  0x2000, "O_ASYNC", 0x4000, "O_DIRECT", 0x8000, "O_LARGEFILE", 0x20000, "O_NOFOLLOW",
  0x40000, "O_NOATIME", 0x80000, "O_CLOEXEC", 0x10000, "O_DIRECTORY", 0x200000, "O_PATH" }
local O_ACC = { [0] = "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" }

local function oflags(v)
  v = u32(v)
  local acc = v % 4
  local rest = flags(v - acc, O_FLAGS, "")
  return rest == "" and O_ACC[acc] or O_ACC[acc] .. "|" .. rest
end

local function creates(v) v = u32(v) return band(v, 0x40) ~= 0 or band(v, 0x410000) % 4294967296 == 0x410000 end

local SIG = { "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
  "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
  "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ",
  "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS" }

local function signal(v)
  v = s32(v)
  if SIG[v] then return SIG[v] end
  if v >= 32 and v <= 64 then return format("SIGRT_%d", v - 32) end
  return tostring(v)
end

local AT = { 0x100, "AT_SYMLINK_NOFOLLOW", 0x200, "AT_REMOVEDIR", 0x400, "AT_SYMLINK_FOLLOW",
  0x800, "AT_NO_AUTOMOUNT", 0x1000, "AT_EMPTY_PATH" }
local AF = { [0] = "AF_UNSPEC", "AF_UNIX", "AF_INET", [10] = "AF_INET6", [16] = "AF_NETLINK",
  [17] = "AF_PACKET" }
local SOCK = { "SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET",
  [10] = "SOCK_PACKET" }
local PROT = { 1, "PROT_READ", 2, "PROT_WRITE", 4, "PROT_EXEC" }
local MAP_TYPE = { "MAP_SHARED", "MAP_PRIVATE", "MAP_SHARED_VALIDATE" }
local MAP = { 0x10, "MAP_FIXED", 0x20, "MAP_ANONYMOUS", 0x100, "MAP_GROWSDOWN", 0x800, "MAP_DENYWRITE",
  0x2000, "MAP_LOCKED", 0x4000, "MAP_NORESERVE", 0x8000, "MAP_POPULATE", 0x10000, "MAP_NONBLOCK",
  0x20000, "MAP_STACK", 0x40000, "MAP_HUGETLB", 0x100000, "MAP_FIXED_NOREPLACE" }
local RTLD = { 0x100, "RTLD_GLOBAL", 0x1000, "RTLD_NODELETE", 4, "RTLD_NOLOAD", 8, "RTLD_DEEPBIND" }
local RTLD_MODE = { [0] = "0", "RTLD_LAZY", "RTLD_NOW", "3" }
local F = { [0] = "F_DUPFD", "F_GETFD", "F_SETFD", "F_GETFL", "F_SETFL", "F_GETLK", "F_SETLK",
  "F_SETLKW", "F_SETOWN", "F_GETOWN", [1030] = "F_DUPFD_CLOEXEC" }
local LC = { [0] = "LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE", "LC_MONETARY", "LC_MESSAGES",
  "LC_ALL", "LC_PAPER", "LC_NAME", "LC_ADDRESS", "LC_TELEPHONE", "LC_MEASUREMENT",
  "LC_IDENTIFICATION" }

local function u16be(s, i) return byte(s, i) * 256 + byte(s, i + 1) end

-- struct sockaddr: {AF_INET, 127.0.0.1:80}, {AF_INET6, [::1]:80}, {AF_UNIX, "/path"}.
local function sockaddr(addr, src)
  if addr == 0 then return "NULL" end
  local s = src:read(addr, 2)
  if not s then return ptr(addr) end
  local fam = byte(s, 1) + 256 * byte(s, 2)
  local name = AF[fam] or tostring(fam)
  if fam == 2 then
    s = src:read(addr, 8)
    if s then return format("{%s, %d.%d.%d.%d:%d}", name, byte(s, 5), byte(s, 6), byte(s, 7), byte(s, 8), u16be(s, 3)) end
  elseif fam == 10 then
    s = src:read(addr, 24)
    if s then
      local g = {}
      for k = 0, 7 do g[#g + 1] = format("%x", u16be(s, 9 + 2 * k)) end
      local text = ":" .. concat(g, ":") .. ":"
      -- the longest run of zero groups becomes "::" (RFC 5952)
      local best, bestlen = nil, 1
      for run in text:gmatch(":0[:0]*") do
        local n = select(2, run:gsub("0", ""))
        if n > bestlen then best, bestlen = run, n end
      end
      if best then
        local a, b = text:find(best, 1, true)
        text = text:sub(1, a - 1) .. "::" .. text:sub(b + 1)
      end
      text = text:gsub("^:([^:])", "%1"):gsub("([^:]):$", "%1")
      return format("{%s, [%s]:%d}", name, text, u16be(s, 3))
    end
  elseif fam == 1 then
    local p = src:cstring(addr + 2, 108)
    if p == "" then -- abstract socket: a NUL, then the name
      p = src:read(addr + 3, 1) and src:cstring(addr + 3, 107)
      if p then return format("{%s, @%s}", name, quote(p)) end
    elseif p then
      return format("{%s, %s}", name, quote(p))
    end
  end
  return "{" .. name .. "}"
end

-- -- Types ------------------------------------------------------------------------
-- fmt(v, src, entry) -> text (nil: left out); float: from the xmm registers;
-- post(v, src, entry, ret) for what the function writes; err: which
-- results are errors when the RET is marked with `!` (default: -1).

local T = {}
M.types = T

T.int = { fmt = function(v) return tostring(s32(v)) end, err = function(v) return s32(v) == -1 end }
T.uint = { fmt = function(v) return tostring(u32(v)) end, err = function(v) return u32(v) == 4294967295 end }
T.long = { fmt = dec, err = function(v) return v == -1 end }
T.ulong = { fmt = udec, err = function(v) return v == -1 end }
T.size = T.ulong
T.ssize = T.long
T.hex = { fmt = hex, err = function(v) return v == -1 end }
T.ptr = { fmt = ptr, err = function(v) return v == 0 end }
T.bool = { fmt = function(v) return u32(v) % 256 ~= 0 and "true" or "false" end }
T.char = { fmt = char, err = function(v) return s32(v) == -1 end }
T.double = { float = true, fmt = double }
T.float = { float = true, fmt = float }
T.void = { fmt = function() return "<void>" end }
T.string = { fmt = function(v, src) return cstr(v, src) end, err = function(v) return v == 0 end }
T.path = { fmt = function(v, src) return cstr(v, src, 4096) end, err = T.string.err }
T.format = { fmt = T.string.fmt, format = true }
T.sformat = { fmt = T.string.fmt }
T.fd = T.int
T.dirfd = { fmt = function(v) v = s32(v) return v == -100 and "AT_FDCWD" or tostring(v) end }
T.oflags = { fmt = oflags }
T.omode = { fmt = function(v, src, e) if e.prev and creates(e.prev) then return format("0%o", u32(v)) end end }
T.mode = { fmt = function(v) return format("0%o", u32(v)) end, err = T.int.err }
T.amode = { fmt = function(v)
  v = u32(v)
  if v == 0 then return "F_OK" end
  return flags(v, { 4, "R_OK", 2, "W_OK", 1, "X_OK" })
end }
T.atflags = { fmt = function(v) return flags(v, AT) end }
T.whence = { fmt = named({ [0] = "SEEK_SET", "SEEK_CUR", "SEEK_END", "SEEK_DATA", "SEEK_HOLE" }) }
T.signal = { fmt = signal }
T.af = { fmt = named(AF) }
T.socktype = { fmt = function(v)
  v = u32(v)
  local t = { SOCK[v % 16] or tostring(v % 16) }
  if band(v, 0x80000) ~= 0 then t[#t + 1] = "SOCK_CLOEXEC" end
  if band(v, 0x800) ~= 0 then t[#t + 1] = "SOCK_NONBLOCK" end
  return concat(t, "|")
end }
T.sockaddr = { fmt = sockaddr }
T.prot = { fmt = function(v) return flags(v, PROT, "PROT_NONE") end }
T.mapflags = { fmt = function(v)
  v = u32(v)
  local t = MAP_TYPE[v % 16] or format("0x%x", v % 16)
  local rest = flags(v - v % 16, MAP, "")
  return rest == "" and t or t .. "|" .. rest
end }
T.dlflags = { fmt = function(v)
  v = u32(v)
  local rest = flags(v - v % 4, RTLD, "")
  return rest == "" and RTLD_MODE[v % 4] or RTLD_MODE[v % 4] .. "|" .. rest
end }
T.fcntlcmd = { fmt = named(F) }
T.lcat = { fmt = named(LC) }
T.func = { fmt = function(v, src)
  if v == 0 then return "NULL" end
  local name = src.sym and src:sym(v)
  return name and format("0x%x <%s>", v, name) or format("0x%x", v)
end, err = T.ptr.err }
T.dirent = { fmt = function(v, src) -- glibc's struct dirent: d_name at 19
  if v == 0 then return "NULL" end
  local name = src:cstring(v + 19, 256)
  return name and "{d_name=" .. quote(name) .. "}" or ptr(v)
end, err = T.ptr.err }
T.errnum = { fmt = function(v) return tostring(s32(v)) end, err = function(v) return s32(v) ~= 0 end }
-- the value as a number of the type (JSON output): 32-bit ones from the low half
for _, k in ipairs({ "int", "char", "errnum", "dirfd" }) do T[k].num = s32 end
T.uint.num, T.mode.num = u32, u32
T.bool.num = function(v) return u32(v) % 256 ~= 0 end
-- what the function writes: the pointer on entry, the contents after it returned
T.outstr = { fmt = ptr, post = function(v, src) return cstr(v, src) end }

-- buf(N), buf(N*M), outbuf(N), outbuf(ret), outbuf(ret*N): a type made per parameter.
local function lenof(spec)
  local a, b = spec:match("^(%w+)%*(%d+)$")
  if not a then a = spec end
  if a ~= "ret" and not a:match("^%d+$") then return nil end
  return { a == "ret" and "ret" or tonumber(a), b and tonumber(b) }
end

local function length(l, e, ret)
  local function val(x)
    if x == "ret" then return ret end
    return e.raw[x]
  end
  local n = val(l[1])
  if n == nil then return 0 end
  n = tonumber(n)
  if l[2] then n = n * (tonumber(e.raw[l[2]]) or 0) end
  return n
end

local function sized(kind, spec)
  local l = lenof(spec)
  if not l then return nil end
  if kind == "buf" then
    if l[1] == "ret" then return nil end
    return { fmt = function(v, src, e) return bytes(v, length(l, e), src) end, len = l }
  end
  return { fmt = ptr, len = l, post = function(v, src, e, ret)
    local n = length(l, e, ret)
    if n < 0 then return ptr(v) end -- an error: nothing was written
    return bytes(v, n, src)
  end }
end

-- -- Prototypes ---------------------------------------------------------------------

-- The shipped declarations, one a line (lua/lurk/protos_libc.lua).
local DECLS = require "lurk.protos_libc"

local known          -- name -> declaration text (parsed on first use)
local cache = {}     -- name -> parsed prototype

local function index()
  if known then return end
  known = {}
  for line in DECLS:gmatch("[^\n]+") do
    local name = line:match("^[%w_]+!?%s+([%w_]+)%(")
    if name then known[name] = line end
  end
end

--- Parse one declaration: `RET NAME(TYPE [NAME], ...)`. Returns the
-- prototype { name, ret = {kind, type, err}, args = {{kind, type,
-- name}...}, variadic, text } or nil and a message.
function M.parse(decl)
  if type(decl) ~= "string" then
    error(format("bad argument #1 to 'parse' (string expected, got %s)", type(decl)), 2)
  end
  local ret, bang, name, list = decl:match("^%s*([%w_]+)(!?)%s+([%a_][%w_]*)%s*(%b())%s*;?%s*$")
  if not ret then return nil, format("cannot parse prototype '%s' (RET NAME(TYPE, ...) expected)", decl) end
  local rt = T[ret]
  if not rt or rt.len or rt.post then return nil, format("unknown result type '%s' in '%s'", ret, decl) end
  local p = { name = name, text = decl, args = {},
              ret = { kind = ret, type = rt, err = bang == "!" and (rt.err or T.int.err) or nil } }
  list = list:sub(2, -2)
  if list:match("^%s*void%s*$") then list = "" end
  local n = 0
  for a in (list:match("^%s*$") and "" or list .. ","):gmatch("%s*([^,]-)%s*,") do
    if a == "" then return nil, format("empty argument in '%s'", decl) end
    if p.variadic then return nil, format("'...' must come last in '%s'", decl) end
    if a == "..." then
      p.variadic = true
    else
      local kind, param, aname = a:match("^([%a_][%w_]*)%s*(%b())%s*([%a_]?[%w_]*)$")
      if not kind then kind, aname = a:match("^([%a_][%w_]*)%s*([%a_]?[%w_]*)$") end
      if not kind then return nil, format("cannot parse argument '%s' in '%s'", a, decl) end
      local t = T[kind]
      if param then
        t = (kind == "buf" or kind == "outbuf") and sized(kind, param:sub(2, -2))
        if not t then return nil, format("bad argument type '%s%s' in '%s'", kind, param, decl) end
        if t.len[1] ~= "ret" and (t.len[1] > 6 or (t.len[2] and t.len[2] > 6)) then
          return nil, format("bad argument type '%s%s' in '%s' (lengths from arguments 1-6)", kind, param, decl)
        end
      elseif not t or kind == "void" then
        return nil, format("unknown argument type '%s' in '%s'", kind, decl)
      end
      n = n + 1
      p.args[n] = { kind = param and kind .. param or kind, type = t, name = aname ~= "" and aname or nil }
    end
  end
  return p
end

--- The prototype of a function by name (nil if not known).
function M.get(name)
  local p = cache[name]
  if p ~= nil then return p or nil end
  index()
  local d = known[name]
  if d then p = assert(M.parse(d)) else p = false end
  cache[name] = p
  return p or nil
end

--- Add (or replace) a prototype: its name's calls are printed with it.
-- Returns the prototype, or nil and a message for a bad declaration.
function M.add(decl)
  local p, err = M.parse(decl)
  if not p then return nil, err end
  index()
  known[p.name] = decl
  cache[p.name] = p
  return p
end

--- The names of the known functions, sorted.
function M.names()
  index()
  local t = {}
  for k in pairs(known) do t[#t + 1] = k end
  table.sort(t)
  return t
end

-- -- printf conversions -------------------------------------------------------------

local INTCONV = { d = true, i = true }
local UCONV = { u = true, x = true, X = true, o = true }
local FCONV = { f = true, F = true, e = true, E = true, g = true, G = true, a = true, A = true }

-- The variadic arguments as fmt's conversions take them: ints from
-- integer argument ni + 1 on, doubles from floating-point argument nf + 1.
local function varargs(fmt, src, ni, nf, out)
  local i, n = 1, 0
  local function nexti() ni = ni + 1 return src:arg(ni) end
  while true do
    local s = fmt:find("%", i, true)
    if not s then break end
    local flags_, width, prec, len, conv, e =
      fmt:match("^%%([-+ #0']*)(%*?%d*)(%.?%*?%d*)([hlLqjzt]*)(.)()", s)
    if not conv then break end
    i = e
    if conv ~= "%" and conv ~= "m" then
      n = n + 1
      if n > 32 or ni >= 64 then out[#out + 1] = "..." break end
      if width == "*" then out[#out + 1] = tostring(s32(nexti())) end
      if prec == ".*" then out[#out + 1] = tostring(s32(nexti())) end
      local long = len:find("l") or len:find("q") or len:find("j") or len:find("z") or len:find("t")
      if INTCONV[conv] then
        local v = nexti()
        if long then out[#out + 1] = dec(v)
        elseif len == "hh" then local c = u32(v) % 256 out[#out + 1] = tostring(c >= 128 and c - 256 or c)
        elseif len == "h" then local c = u32(v) % 65536 out[#out + 1] = tostring(c >= 32768 and c - 65536 or c)
        else out[#out + 1] = tostring(s32(v)) end
      elseif UCONV[conv] then
        local v = nexti()
        if not long then v = u32(v) end
        if len == "hh" then v = v % 256 elseif len == "h" then v = v % 65536 end
        if conv == "u" then out[#out + 1] = udec(v)
        elseif conv == "o" then out[#out + 1] = format("0%o", v)
        else out[#out + 1] = hex(v) end
      elseif conv == "c" then out[#out + 1] = char(nexti())
      elseif conv == "s" then out[#out + 1] = cstr(nexti(), src)
      elseif conv == "p" or conv == "n" then out[#out + 1] = ptr(nexti())
      elseif FCONV[conv] then
        if len == "L" then out[#out + 1] = "..." break end -- long double: on the stack, in x87 form
        nf = nf + 1
        out[#out + 1] = nf <= 8 and double(src:farg(nf)) or "?"
      else
        out[#out + 1] = "..." break
      end
    end
  end
end

-- -- Calls -----------------------------------------------------------------------------

--- The arguments of a call to p as text ("AT_FDCWD, \"/etc\", O_RDONLY").
-- With e (a table), e.raw keeps the integer arguments by position and
-- e.post the ones to print again when the call returns (see result).
function M.args(p, src, e)
  e = e or {}
  local raw = {}
  e.raw = raw
  local args = p.args
  local out, ni, nf = {}, 0, 0
  for k = 1, #args do -- the integer arguments first: buf(N) looks ahead
    if not args[k].type.float then ni = ni + 1 raw[ni] = src:arg(ni) end
  end
  ni = 0
  local fmtstr
  for k = 1, #args do
    local t = args[k].type
    local v
    if t.float then
      nf = nf + 1
      v = nf <= 8 and src:farg(nf) or nil
    else
      ni = ni + 1
      v = raw[ni]
      e.prev = raw[ni - 1]
    end
    if v == nil then
      out[#out + 1] = "?"
    else
      local text = t.fmt(v, src, e)
      if text then
        out[#out + 1] = text
        if t.post then
          e.post = e.post or {}
          e.post[#e.post + 1] = { #out, t, v }
        end
      end
      if t.format and v ~= 0 then fmtstr = src:cstring(v, 4096) end
    end
  end
  if p.variadic and fmtstr then varargs(fmtstr, src, ni, nf, out) end
  e.out = out
  return concat(out, ", ")
end

--- The arguments again when the call returned with ret: what the
-- function wrote (outbuf, outstr) filled in. e is the table given to args.
-- Also returns the list of the arguments' texts.
function M.args_after(e, src, ret)
  local post = e.post
  if not post then return concat(e.out, ", "), e.out end
  local out = {}
  for k = 1, #e.out do out[k] = e.out[k] end
  for k = 1, #post do
    local q = post[k]
    out[q[1]] = q[2].post(q[3], src, e, ret)
  end
  return concat(out, ", "), out
end

--- The result of a call to p: text, and whether it is an error (only for
-- a RET marked `!` or errnum). ret is the integer result, fret the
-- floating-point one.
function M.result(p, src, ret, fret)
  local r = p.ret
  local t = r.type
  if t.float then return t.fmt(fret or 0, src), false end
  local text = t.fmt(ret, src)
  local err = r.err or (t == T.errnum and t.err) or nil
  return text, err and err(ret) or false
end

--- The result of a call to p as a value: a number (of the result type:
-- -1 for an int's 0xffffffff), a 64-bit cdata, a boolean; fret for a
-- floating-point result.
function M.value(p, ret, fret)
  local t = p.ret.type
  if t.float then return fret end
  if t == T.void then return nil end
  return t.num and t.num(ret) or ret
end

--- The text of the six integer registers, for a function without a
-- prototype: "0x1, 0x7ffd5cf0, 0, ..."; and the list of them.
function M.raw_args(src, n)
  local out = {}
  for k = 1, n or 6 do out[k] = hex(src:arg(k)) end
  return concat(out, ", "), out
end

M.hex, M.ptr, M.char, M.double = hex, ptr, char, double
return M
