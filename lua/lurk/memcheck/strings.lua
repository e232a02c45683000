--- lurk.memcheck.strings: the reads of glibc's string functions, checked
-- byte-exactly at their entry.
--
-- glibc's strlen, strcmp, memchr... read whole vectors (and the generic
-- ones whole words) past the end of a string, within the page: their own
-- reads are not checked (access.lua). Instead each one is wrapped
-- (lurk.wrap, a pre handler only), and lurk.shadow.strcheck computes from
-- the arguments and the memory the bytes the C definition reads: strlen(s)
-- reads s up to its terminator, strcmp(a, b) both strings up to the
-- first difference or terminator, memchr(s, c, n) s up to the first c or
-- n bytes, and so on, as Valgrind's replacements in vg_replace_strmem.c
-- read them. It reads only bytes the shadow says are addressable; the
-- first byte that is not, and that the function would read, is the error
-- (an unterminated heap string: heap-overflow at the caller's line, the
-- allocation stack with it). The function then runs as it is.
--
--   require("lurk.memcheck.strings").start(opts, report)
--     report(call, addr, size): records an error at addr for the call
local M = {}

local strcheck = lurk.shadow.strcheck
local tonumber = tonumber

-- The functions checked (lurk.shadow.strcheck's names); bcmp, index and
-- rindex are aliases of memcmp, strchr and strrchr in glibc.
M.FUNCS = { "strlen", "strnlen", "strcpy", "stpcpy", "strncpy", "stpncpy", "strcat", "strncat",
            "strcmp", "strncmp", "strcasecmp", "strncasecmp", "memcmp", "memchr", "memrchr", "rawmemchr",
            "strchr", "strchrnul", "strrchr", "strspn", "strcspn", "strpbrk", "strstr",
            "wcslen", "wcsnlen", "wcscpy", "wcscmp", "wcschr", "wcsrchr" }

local nchecked = 0

local function pre_of(name, report)
  local size = name:match("^wcs") and 4 or 1
  return function(call)
    local args = call.args
    nchecked = nchecked + 1
    local bad = strcheck(name, args[1], args[2], args[3])
    if bad then report(call, tonumber(bad), size) end
  end
end

--- Wrap each function of libc (by name: the implementation this CPU
-- runs, resolved again for libraries loaded later).
function M.start(_, report)
  for _, name in ipairs(M.FUNCS) do lurk.wrap("libc.so.6!" .. name, { pre = pre_of(name, report) }) end
end

function M.checked() return nchecked end

return M
