--- lurk.pattern: find instruction sequences by their text, with captures.
--
--   local pattern = require "lurk.pattern"
--   local p = pattern.compile [[
--     sub $r, qword ptr fs:[0x28]
--     jnz $fail
--   ]]
--   lurk.on("bb", function(bb)
--     for m in p:gmatch(bb) do
--       print(string.format("0x%x", m.pc), m.r, m.fail)  -- 0x4049d1  rdx  0x404b6e
--     end
--   end)
--
-- A pattern is instruction patterns, one per line or ';'-separated, each
-- matched against a whole instruction's text (ins.text: Intel syntax,
-- lower case, hex numbers, as lurk.decode prints it):
--
--   text      literal; runs of blanks match one or more blanks, a ',' may
--             have blanks around it in the pattern
--   $name     one or more characters up to the next literal character of
--             the pattern (or the end), captured as m.name; a name used
--             twice must capture the same text both times (test $r, $r)
--   $name:reg / :imm / :mem   ... only a register / a number / a memory
--             operand ("qword ptr [rax+0x8]": size, segment and brackets)
--   *         like $name, not captured
--   j$cc      a placeholder inside a word: "jnz" gives cc = "nz"
--   ...       (alone) any number of instructions, as few as possible
--   # text    a comment to the end of the line
--
-- Conditional-jump aliases in a literal mnemonic are Zydis's names
-- (je -> jz, jne -> jnz, ja -> jnbe ...), as in lurk.asm.
--
-- p:match(list [, init]) -> the first match at or after index init, or
-- nil; p:gmatch(list) iterates over the matches, left to right, not
-- overlapping. list: a bb (its app instructions), an array of insn
-- objects, or an array of strings (instruction texts). A match is a table:
-- the captures by name, and first/last (indexes into list; for a bb, the
-- app instruction numbers bb[i] uses), pc (the first instruction's pc, nil
-- for strings), insns (the matched instructions).

local lpeg = require "lpeg"
local P, S, R, C, Cmt, Ct, Cg = lpeg.P, lpeg.S, lpeg.R, lpeg.C, lpeg.Cmt, lpeg.Ct, lpeg.Cg
local type, error, ipairs, setmetatable, fmt = type, error, ipairs, setmetatable, string.format
local asm = require "lurk.asm"
local REGS = asm.registers

local M = {}

local ident = (R("az", "AZ", "09") + P"_")^1
local space = S" \t"^1

-- Kinds of a typed placeholder: a predicate on the captured text.
local KIND = {
  reg = function(s) return REGS[s] == true end,
  imm = function(s) return s:match("^%-?0x%x+$") or s:match("^%-?%d+$") end,
  mem = function(s) return s:find("[", 1, true) and s:sub(-1) == "]" or s:match("%]%s*{1to%d+}$") end,
}

local CC = { je = "jz", jne = "jnz", ja = "jnbe", jae = "jnb", jc = "jb", jnae = "jb", jnc = "jnb",
             jna = "jbe", jg = "jnle", jge = "jnl", jnge = "jl", jng = "jle", jpe = "jp", jpo = "jnp" }

local function perr(line, col, msg) error(fmt("lurk.pattern: %d:%d: %s", line, col, msg), 0) end

-- One instruction pattern (the text of a line) -> an LPeg pattern over a
-- whole instruction text, capturing a table of name -> text.
local function insn_pattern(src, line, col0)
  col0 = col0 + #src:match("^%s*")
  src = src:gsub("^%s+", ""):gsub("%s+$", "")
  local first = src:match("^[%w]+")
  if first and CC[first] and not src:find("^%w+%$") then src = CC[first] .. src:sub(#first + 1) end
  -- the pieces: literal strings and placeholders
  local pieces, i = {}, 1
  while i <= #src do
    local c = src:sub(i, i)
    if c == "$" then
      local name = src:match("^[%a_][%w_]*", i + 1)
      if not name then perr(line, col0 + i, "expected a name after '$'") end
      local j = i + 1 + #name
      local kind
      if src:sub(j, j) == ":" then
        kind = src:match("^%a+", j + 1)
        if not kind or not KIND[kind] then perr(line, col0 + j + 1, "expected reg, imm or mem after ':'") end
        j = j + 1 + #kind
      end
      pieces[#pieces + 1] = { name = name, kind = kind }
      i = j
    elseif c == "*" then
      pieces[#pieces + 1] = { name = false }
      i = i + 1
    else
      local lit = src:match("^[^$*]+", i)
      pieces[#pieces + 1] = lit
      i = i + #lit
    end
  end
  -- build right to left: a placeholder stops before the next literal char
  local pat = P(-1)
  for k = #pieces, 1, -1 do
    local pc = pieces[k]
    if type(pc) == "string" then
      local lp = P(true)
      for w, sep in pc:gmatch("([^%s,]*)([%s,]*)") do
        if w ~= "" then lp = lp * P(w) end
        if sep ~= "" then
          if sep:find(",") then lp = lp * S" "^0 * "," * S" "^0 else lp = lp * space end
        end
      end
      pat = lp * pat
    else
      local nxt = pieces[k + 1]
      local stop = type(nxt) == "string" and nxt:match("^%s*(.)") or nil
      if type(nxt) == "table" then perr(line, col0, "two placeholders in a row") end
      local body
      if stop then
        stop = stop == " " and S" \t" or (stop == "," and P",") or P(stop)
        body = (1 - stop)^1
      else
        body = P(1)^1
      end
      if pc.kind then
        local ok = KIND[pc.kind]
        body = Cmt(C(body), function(_, p, s) return ok(s) and p or false end)
        body = body / 0   -- drop the inner capture
        body = C(body)
      else
        body = C(body)
      end
      if pc.name then
        -- a repeated name in one instruction: its own key, compared in try()
        local key = pc.name
        for k2 = 1, k - 1 do
          if type(pieces[k2]) == "table" and pieces[k2].name == pc.name then key = pc.name .. "\0" .. k end
        end
        pat = Cg(body, key) * pat
      else
        pat = (body / 0) * pat
      end
    end
  end
  return Ct(pat)
end

--- compile(src): a pattern object; raises "lurk.pattern: LINE:COL: msg".
function M.compile(src)
  if type(src) ~= "string" then
    error(fmt("bad argument #1 to 'compile' (string expected, got %s)", type(src)), 2)
  end
  local elems, ln = {}, 0
  for line in (src .. "\n"):gmatch("([^\n]*)\n") do
    ln = ln + 1
    line = line:gsub("#.*$", "")
    local col = 1
    for part in (line .. ";"):gmatch("([^;]*);") do
      if part:match("^%s*%.%.%.%s*$") then
        elems[#elems + 1] = { gap = true }
      elseif part:match("%S") then
        elems[#elems + 1] = { pat = insn_pattern(part, ln, col - 1), src = part:match("^%s*(.-)%s*$") }
      end
      col = col + #part + 1
    end
  end
  if #elems == 0 then error("lurk.pattern: empty pattern", 2) end
  if elems[1].gap or elems[#elems].gap then error("lurk.pattern: a pattern cannot start or end with '...'", 2) end
  return setmetatable({ elems = elems, source = src }, M)
end
M.__index = M
function M.__tostring(p)
  local t = {}
  for i, e in ipairs(p.elems) do t[i] = e.gap and "..." or e.src end
  return "lurk.pattern: " .. table.concat(t, "; ")
end

-- The list as { text, insn, index } entries.
local function entries(list)
  local out = {}
  if type(list) == "userdata" and list.insns then
    for ins, kind, k in list:insns() do
      if kind == "app" then out[#out + 1] = { ins.text, ins, k } end
    end
    return out
  end
  if type(list) ~= "table" then
    error(fmt("bad argument #1 to 'match' (bb or list expected, got %s)", type(list)), 3)
  end
  for i, v in ipairs(list) do
    if type(v) == "string" then out[#out + 1] = { v, nil, i }
    else out[#out + 1] = { v.text, v, i } end
  end
  return out
end

-- Match elements e.. against entries i..; binds is extended in place.
local function try(elems, e, ents, i, binds)
  local el = elems[e]
  if not el then return i - 1 end
  if el.gap then
    for j = i, #ents do
      local saved = {}
      for k, v in pairs(binds) do saved[k] = v end
      local last = try(elems, e + 1, ents, j, binds)
      if last then return last end
      for k in pairs(binds) do binds[k] = saved[k] end
    end
    return nil
  end
  local ent = ents[i]
  if not ent then return nil end
  local caps = lpeg.match(el.pat, ent[1])
  if not caps then return nil end
  for k, v in pairs(caps) do
    local base = type(k) == "string" and k:match("^(.-)%z")
    if base then
      if caps[base] ~= v then return nil end
      caps[k] = nil
    end
  end
  local added = {}
  for k, v in pairs(caps) do
    if binds[k] == nil then binds[k] = v; added[#added + 1] = k
    elseif binds[k] ~= v then
      for _, a in ipairs(added) do binds[a] = nil end
      return nil
    end
  end
  local last = try(elems, e + 1, ents, i + 1, binds)
  if not last then for _, a in ipairs(added) do binds[a] = nil end end
  return last
end

local function match_at(p, ents, init)
  for i = init, #ents do
    local binds = {}
    local last = try(p.elems, 1, ents, i, binds)
    if last then
      local m = binds
      m.first, m.last = ents[i][3], ents[last][3]
      m.insns = {}
      for k = i, last do m.insns[#m.insns + 1] = ents[k][2] or ents[k][1] end
      m.pc = ents[i][2] and ents[i][2].pc or nil
      return m, last + 1
    end
  end
end

--- p:match(list [, init]): the first match starting at entry init or later.
function M:match(list, init)
  local ents = entries(list)
  return (match_at(self, ents, init or 1))
end

--- p:gmatch(list): an iterator over the matches, not overlapping.
function M:gmatch(list)
  local ents, pos = entries(list), 1
  return function()
    if not pos then return nil end
    local m, nxt = match_at(self, ents, pos)
    pos = nxt
    return m
  end
end

return M
