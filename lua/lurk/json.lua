--- lurk.json: a JSON encoder (and a small decoder) for the tools' data
-- outputs. Pure Lua: runs in lurk's LuaJIT and in Lua 5.1-5.4.
--
--   local json = require "lurk.json"
--   print(json.encode({ name = "openat", args = { -100, "/etc/passwd" }, ok = true }))
--   print(json.encode({ b = 1, a = { 1.5, json.null } }, { indent = 2 }))
--   local t = json.decode('{"x": [1, 2, "\\u00e9"]}')   --> t.x[3] == "é"
--
-- prints
--
--   {"args":[-100,"/etc/passwd"],"name":"openat","ok":true}
--   {
--     "a": [
--       1.5,
--       null
--     ],
--     "b": 1
--   }
--
-- Rules (decisions; docs/lua-api.md, "lurk.json"):
-- - A table whose keys are exactly 1..n (n >= 1) is an array; any other
--   table is an object. An empty table is an object `{}` (as lua-cjson);
--   `json.array(t)` marks a table as an array (so `{}` encodes as `[]`),
--   `json.object(t)` as an object. Object keys are strings or numbers
--   (numbers are written as strings: `{[3] = 1, x = 2}` is `{"3":1,"x":2}`);
--   any other key type, a cycle, or a function/userdata value raises.
-- - Keys are sorted (byte order) unless `sort_keys = false`, so the same
--   data always gives the same text.
-- - Integral numbers are written without a fraction or exponent (`3`, not
--   `3.0`) up to 2^63; others with the fewest digits (up to 17) that read
--   back to the same double. NaN and infinities are written `null` (as
--   JavaScript's JSON.stringify). LuaJIT's 64-bit integers (cdata
--   `123LL`/`123ULL`) are written exactly.
-- - Strings: `"` `\` and control characters (U+0000-U+001F) are escaped
--   (`\n \r \t \b \f`, otherwise `\u00XX`); DEL and everything else pass
--   through. A byte sequence that is not valid UTF-8 (stray continuation
--   bytes, overlong forms, surrogates, code points past U+10FFFF, cut
--   sequences) is replaced by U+FFFD, one per bad byte, so the output is
--   always valid UTF-8 and valid JSON. `ascii = true` escapes every
--   non-ASCII character as `\uXXXX` (surrogate pairs past U+FFFF).
-- - `json.null` is JSON's null (a nil in a table is a missing key/hole).
local M = {}

local byte, char, find, format, gsub, sub = string.byte, string.char, string.find,
  string.format, string.gsub, string.sub
local concat, sort = table.concat, table.sort
local floor, huge = math.floor, math.huge
local type, pairs, next, tostring, tonumber, select, setmetatable, getmetatable, error =
  type, pairs, next, tostring, tonumber, select, setmetatable, getmetatable, error

M.null = setmetatable({}, { __tostring = function() return "null" end, __name = "lurk.json.null" })

local ARRAY = { __name = "lurk.json.array", __jsontype = "array" }
local OBJECT = { __name = "lurk.json.object", __jsontype = "object" }

--- Mark t as an array (an empty t encodes as []); returns t.
function M.array(t)
  if type(t) ~= "table" then error(format("bad argument #1 to 'array' (table expected, got %s)", type(t)), 2) end
  return setmetatable(t, ARRAY)
end

--- Mark t as an object (a t with keys 1..n encodes as {"1":..}); returns t.
function M.object(t)
  if type(t) ~= "table" then error(format("bad argument #1 to 'object' (table expected, got %s)", type(t)), 2) end
  return setmetatable(t, OBJECT)
end

-- -- UTF-8 ---------------------------------------------------------------------------

local REPL = "\239\191\189" -- U+FFFD

-- Length of the valid UTF-8 sequence at i of s (RFC 3629), or nil.
local function seqlen(s, i, c)
  local c2 = byte(s, i + 1)
  if not c2 or c2 < 0x80 or c2 > 0xBF then return nil end
  if c >= 0xC2 and c <= 0xDF then return 2 end
  local c3 = byte(s, i + 2)
  if not c3 or c3 < 0x80 or c3 > 0xBF then return nil end
  if c >= 0xE0 and c <= 0xEF then
    if c == 0xE0 and c2 < 0xA0 then return nil end -- overlong
    if c == 0xED and c2 > 0x9F then return nil end -- surrogate
    return 3
  end
  local c4 = byte(s, i + 3)
  if not c4 or c4 < 0x80 or c4 > 0xBF then return nil end
  if c == 0xF0 and c2 < 0x90 then return nil end -- overlong
  if c == 0xF4 and c2 > 0x8F then return nil end -- past U+10FFFF
  if c >= 0xF0 and c <= 0xF4 then return 4 end
  return nil
end

--- s with every byte that does not start a valid UTF-8 sequence replaced
-- by U+FFFD (s itself when it is valid).
function M.utf8_clean(s)
  if not find(s, "[\128-\255]") then return s end
  local out, n, i, start, len = {}, 0, 1, 1, #s
  while true do
    local j = find(s, "[\128-\255]", i)
    if not j then break end
    local c = byte(s, j)
    local l = c >= 0xC2 and c <= 0xF4 and seqlen(s, j, c)
    if l then
      i = j + l
    else
      n = n + 1
      out[n] = sub(s, start, j - 1) .. REPL
      i, start = j + 1, j + 1
    end
  end
  if n == 0 then return s end
  out[n + 1] = sub(s, start, len)
  return concat(out)
end

-- -- Encoding ------------------------------------------------------------------------

local ESC = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
  ["\b"] = "\\b", ["\f"] = "\\f", ["\127"] = "\127" }
for c = 0, 31 do
  local ch = char(c)
  if not ESC[ch] then ESC[ch] = format("\\u%04x", c) end
end

local function u_escape(cp)
  if cp < 0x10000 then return format("\\u%04x", cp) end
  cp = cp - 0x10000
  return format("\\u%04x\\u%04x", 0xD800 + floor(cp / 1024), 0xDC00 + cp % 1024)
end

local function ascii_escape(ch)
  local c, n = byte(ch), #ch
  if n == 2 then return u_escape((c - 0xC0) * 64 + byte(ch, 2) - 0x80) end
  if n == 3 then return u_escape(((c - 0xE0) * 64 + byte(ch, 2) - 0x80) * 64 + byte(ch, 3) - 0x80) end
  return u_escape((((c - 0xF0) * 64 + byte(ch, 2) - 0x80) * 64 + byte(ch, 3) - 0x80) * 64 + byte(ch, 4) - 0x80)
end

local function quote(s, ascii)
  s = M.utf8_clean(s)
  s = gsub(s, '[%c"\\]', ESC)
  if ascii then s = gsub(s, "[\192-\247][\128-\191]*", ascii_escape) end
  return '"' .. s .. '"'
end
M.quote = function(s, ascii) return quote(tostring(s), ascii) end

local TWO63 = 2 ^ 63

--- The JSON text of the number v (see the rules above).
local mathtype = math.type

local function number(v)
  if mathtype and mathtype(v) == "integer" then return format("%d", v) end
  if v ~= v or v == huge or v == -huge then return "null" end
  if floor(v) == v and v >= -TWO63 and v < TWO63 then return format("%.0f", v) end
  for _, f in ipairs({ "%.15g", "%.16g" }) do
    local s = format(f, v)
    if tonumber(s) == v then return s end
  end
  return format("%.17g", v)
end
M.number = number

local function isarray(t)
  local mt = getmetatable(t)
  if mt == ARRAY then return true end
  if mt == OBJECT then return false end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k > n or floor(k) ~= k then return false end
    count = count + 1
  end
  return count == n
end

local function path_of(path) return "$" .. path end

local encode_value

local function encode_table(t, opts, buf, depth, seen, path)
  if seen[t] then error(format("json.encode: cycle at %s", path_of(path)), 0) end
  seen[t] = true
  local ind = opts.indent
  local nl, pad, pad_in, sep = "", "", "", ":"
  if ind then
    nl = "\n"
    pad = opts._pad(depth)
    pad_in = opts._pad(depth + 1)
    sep = ": "
  end
  if isarray(t) then
    local n = #t
    if n == 0 then buf[#buf + 1] = "[]" seen[t] = nil return end
    buf[#buf + 1] = "[" .. nl
    for i = 1, n do
      buf[#buf + 1] = pad_in
      local v = t[i]
      if v == nil then buf[#buf + 1] = "null"
      else encode_value(v, opts, buf, depth + 1, seen, path .. "[" .. i .. "]") end
      if i < n then buf[#buf + 1] = "," .. nl end
    end
    buf[#buf + 1] = nl .. pad .. "]"
  else
    local keys, names = {}, {}
    for k in pairs(t) do
      local tk = type(k)
      local name
      if tk == "string" then name = k
      elseif tk == "number" then name = number(k)
      else
        error(format("json.encode: a key of type %s in %s (keys must be strings or numbers)",
          tk, path_of(path)), 0)
      end
      keys[#keys + 1] = k
      names[k] = name
    end
    if next(keys) == nil then buf[#buf + 1] = "{}" seen[t] = nil return end
    if opts.sort_keys ~= false then sort(keys, function(a, b) return names[a] < names[b] end) end
    buf[#buf + 1] = "{" .. nl
    for i, k in ipairs(keys) do
      buf[#buf + 1] = pad_in .. quote(names[k], opts.ascii) .. sep
      encode_value(t[k], opts, buf, depth + 1, seen, path .. "." .. names[k])
      if i < #keys then buf[#buf + 1] = "," .. nl end
    end
    buf[#buf + 1] = nl .. pad .. "}"
  end
  seen[t] = nil
end

encode_value = function(v, opts, buf, depth, seen, path)
  local tv = type(v)
  if tv == "string" then buf[#buf + 1] = quote(v, opts.ascii)
  elseif tv == "number" then buf[#buf + 1] = number(v)
  elseif tv == "boolean" then buf[#buf + 1] = v and "true" or "false"
  elseif v == nil or v == M.null then buf[#buf + 1] = "null"
  elseif tv == "table" then encode_table(v, opts, buf, depth, seen, path)
  elseif tv == "cdata" then
    local s = tostring(v)
    local digits = s:match("^(%-?%d+)U?LL$")
    if not digits then error(format("json.encode: cannot encode cdata %s at %s", s, path_of(path)), 0) end
    buf[#buf + 1] = digits
  else
    error(format("json.encode: cannot encode a %s at %s", tv, path_of(path)), 0)
  end
end

local function check_opts(opts, fname, argn)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(format("bad argument #%d to '%s' (table expected, got %s)", argn, fname, type(opts)), 3)
  end
  local o = { sort_keys = opts.sort_keys, ascii = opts.ascii }
  local ind = opts.indent
  if ind ~= nil and ind ~= false then
    if type(ind) == "number" then ind = string.rep(" ", ind)
    elseif type(ind) ~= "string" then
      error(format("bad argument #%d to '%s' (indent: number or string expected, got %s)", argn,
        fname, type(ind)), 3)
    end
    o.indent = ind
    local cache = {}
    o._pad = function(d)
      local p = cache[d]
      if not p then p = string.rep(ind, d) cache[d] = p end
      return p
    end
  end
  return o
end

--- The JSON text of v. opts: indent (number of spaces or a string; pretty
-- printed when given), sort_keys (default true), ascii (default false).
-- Raises on what JSON cannot hold (see the rules above).
function M.encode(v, opts)
  local o = check_opts(opts, "encode", 2)
  local buf = {}
  local ok, err = pcall(encode_value, v, o, buf, 0, {}, "")
  if not ok then error(err, 2) end
  return concat(buf)
end

--- Write the JSON text of v and a newline to f (a file or a file name,
-- truncated). Returns true, or nil and a message when the file cannot be
-- opened.
function M.write(v, f, opts)
  local text = M.encode(v, opts)
  if type(f) == "string" then
    local file, err = io.open(f, "w")
    if not file then return nil, err end
    file:write(text, "\n")
    file:close()
    return true
  end
  if f == nil then f = io.stdout end
  f:write(text, "\n")
  return true
end

-- -- Decoding ------------------------------------------------------------------------

local decode_value

local function derr(s, i, what)
  error({ json = format("%s at position %d", what, i) }, 0)
end

local function skip(s, i)
  local _, e = find(s, "^[ \t\r\n]*", i)
  return e + 1
end

local function utf8_char(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64, 0x80 + floor(cp / 64) % 64,
    0x80 + cp % 64)
end

local UNESC = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local function decode_string(s, i)
  -- s[i] is the opening quote
  local buf, j = {}, i + 1
  while true do
    local k = find(s, '["\\%c]', j)
    if not k then derr(s, i, "unterminated string") end
    local c = sub(s, k, k)
    if c ~= '"' and c ~= "\\" then
      if byte(c) ~= 127 then derr(s, k, "control character in string") end
      buf[#buf + 1] = sub(s, j, k)
      j = k + 1
    else
      buf[#buf + 1] = sub(s, j, k - 1)
      if c == '"' then return concat(buf), k + 1 end
      local e = sub(s, k + 1, k + 1)
      if UNESC[e] then
        buf[#buf + 1] = UNESC[e]
        j = k + 2
      elseif e == "u" then
        local hex = sub(s, k + 2, k + 5)
        if not find(hex, "^%x%x%x%x$") then derr(s, k, "bad \\u escape") end
        local cp = tonumber(hex, 16)
        j = k + 6
        if cp >= 0xD800 and cp <= 0xDBFF then
          local lo = sub(s, j, j + 5)
          local lcp = find(lo, "^\\u[dD][c-fC-F]%x%x$") and tonumber(sub(lo, 3), 16)
          if lcp then
            cp = 0x10000 + (cp - 0xD800) * 1024 + (lcp - 0xDC00)
            j = j + 6
          else
            cp = 0xFFFD -- a lone surrogate
          end
        elseif cp >= 0xDC00 and cp <= 0xDFFF then
          cp = 0xFFFD
        end
        buf[#buf + 1] = utf8_char(cp)
      else
        derr(s, k, "bad escape")
      end
    end
  end
end

decode_value = function(s, i, depth)
  if depth > 200 then derr(s, i, "nesting too deep") end
  i = skip(s, i)
  local c = sub(s, i, i)
  if c == "{" then
    local t = {}
    i = skip(s, i + 1)
    if sub(s, i, i) == "}" then return setmetatable(t, OBJECT), i + 1 end
    while true do
      if sub(s, i, i) ~= '"' then derr(s, i, "object key expected") end
      local k
      k, i = decode_string(s, i)
      i = skip(s, i)
      if sub(s, i, i) ~= ":" then derr(s, i, "':' expected") end
      local v
      v, i = decode_value(s, i + 1, depth + 1)
      t[k] = v
      i = skip(s, i)
      c = sub(s, i, i)
      if c == "}" then return setmetatable(t, OBJECT), i + 1 end
      if c ~= "," then derr(s, i, "',' or '}' expected") end
      i = skip(s, i + 1)
    end
  elseif c == "[" then
    local t, n = {}, 0
    i = skip(s, i + 1)
    if sub(s, i, i) == "]" then return setmetatable(t, ARRAY), i + 1 end
    while true do
      local v
      v, i = decode_value(s, i, depth + 1)
      n = n + 1
      t[n] = v
      i = skip(s, i)
      c = sub(s, i, i)
      if c == "]" then return setmetatable(t, ARRAY), i + 1 end
      if c ~= "," then derr(s, i, "',' or ']' expected") end
      i = i + 1
    end
  elseif c == '"' then
    return decode_string(s, i)
  elseif find(s, "^true", i) then return true, i + 4
  elseif find(s, "^false", i) then return false, i + 5
  elseif find(s, "^null", i) then return M.null, i + 4
  else
    -- -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][-+]?[0-9]+)?
    local j = i
    if sub(s, j, j) == "-" then j = j + 1 end
    local _, e = find(s, "^0", j)
    if not e then _, e = find(s, "^[1-9]%d*", j) end
    if not e then derr(s, i, c == "" and "unexpected end" or "unexpected '" .. c .. "'") end
    local _, f = find(s, "^%.%d+", e + 1)
    if f then e = f end
    _, f = find(s, "^[eE][-+]?%d+", e + 1)
    if f then e = f end
    local v = tonumber(sub(s, i, e))
    return v, e + 1
  end
end

--- The value of the JSON text s: objects and arrays are tables (marked
-- with json.object / json.array, so they encode back the same), null is
-- json.null. Returns nil and "message at position N" for text that is not
-- JSON (RFC 8259; a lone surrogate escape decodes to U+FFFD).
function M.decode(s)
  if type(s) ~= "string" then
    error(format("bad argument #1 to 'decode' (string expected, got %s)", type(s)), 2)
  end
  local ok, v, i = pcall(decode_value, s, 1, 0)
  if not ok then
    if type(v) == "table" and v.json then return nil, v.json end
    error(v, 0)
  end
  i = skip(s, i)
  if i <= #s then return nil, format("trailing characters at position %d", i) end
  return v
end

return M
