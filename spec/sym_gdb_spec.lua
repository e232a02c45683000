-- ctx:backtrace() and lurk.sym against gdb's `bt` (issue #11, "What it must
-- show" 3): gdb stops at a function in a test program; lurk runs the same
-- program with a clean call on the same pc; the frames must name the same
-- functions at the same file:line.
--
-- How gdb's frames are compared: gdb shows inlined calls as frames of their
-- own ("inlined into frame N" in `info frame`) and makes up frames for tail
-- calls from DWARF call-site information ("tail call frame"); lurk's
-- backtrace has one entry per real frame. So gdb's frames are grouped: a
-- group is the inlined frames and the frame they are inlined into; its
-- file:line is the innermost's, its function the outermost's (the one the
-- ELF symbol is for); tail-call frames are left out. gdb's "<signal handler
-- called>" is glibc's __restore_rt. Names compare
-- after dropping GCC's clone suffixes (.part.0, .cold...), parameters and
-- return types, or when lurk.addr(gdb's name) is the symbol's address (gdb
-- names libc functions by their internal aliases, __GI_...).
--
-- Programs: spec/lua/sym_bt.c (C, -O2 -fomit-frame-pointer, and qsort
-- calling back), spec/lua/sym_bt.cc (C++ templates, exceptions: a landing
-- pad, __cxa_throw, and the personality routine called by libgcc's
-- unwinder).
local h = require "spec.util.helper"
local S = h.root .. "/spec/lua/"
local sh, capture = h.sh, h.capture

local tmp = h.tmpdir()
teardown(function() sh("rm -rf " .. h.quote(tmp)) end)

local built = {}
local function prog(name)
  if not built[name] then
    local out = tmp .. "/" .. name
    if name == "bt_c" then
      h.gcc(out, S .. "sym_bt.c", "-O2", "-fomit-frame-pointer", "-g")
    else
      assert(sh("g++ -O2 -fomit-frame-pointer -g -o " .. h.quote(out) .. " " .. h.quote(S .. "sym_bt.cc")) == 0)
    end
    built[name] = out
  end
  return built[name]
end

local MAXF = 16

-- gdb's view at the first stop at `where`: { groups = { {name, file, line} },
-- sym = "<symbol>", off = n } (file nil when gdb has no line).
local function gdb_frames(p, where)
  local cmds = { "-ex 'set breakpoint pending on'", "-ex 'handle SIGUSR1 nostop noprint pass'",
                 "-ex " .. h.quote("break " .. where), "-ex run",
                 "-ex bt", "-ex 'info symbol $pc'" }
  for i = 0, MAXF - 1 do
    cmds[#cmds + 1] = "-ex 'frame " .. i .. "'"
    cmds[#cmds + 1] = "-ex 'info frame'"
  end
  local out = capture("gdb -nx -batch " .. table.concat(cmds, " ") .. " " .. h.quote(p) .. " </dev/null 2>&1")
  local frames, tail, inl = {}, {}, {}
  local level
  local sym, off
  for l in out:gmatch("[^\n]+") do
    local n, rest = l:match("^#(%d+)%s+(.*)$")
    if n and not level then
      n = tonumber(n)
      if not frames[n + 1] then
        local body = rest:match("^0x%x+ in (.*)$") or rest
        local name = body:match("^(.-) %(")
        local file, line = body:match(" at ([^%s]+):(%d+)$")
        frames[n + 1] = { name = name, file = file, line = tonumber(line) }
        if rest == "<signal handler called>" then -- glibc's sa_restorer
          frames[n + 1] = { name = "__restore_rt", sigframe = true }
        end
      end
    end
    local s, o = l:match("^(.-) %+ (%d+) in section ")
    if not s then s = l:match("^(.-) in section ") end
    if s and not sym then sym, off = s, tonumber(o or 0) end
    local lv = l:match("^Stack level (%d+),")
    if lv then level = tonumber(lv) end
    if level and l:match("tail call frame") then tail[level + 1] = true end
    if level and l:match("inlined into frame") then inl[level + 1] = true end
  end
  assert.is_true(#frames >= 2, out)
  -- a group: inlined frames, then the frame they are inlined into
  local groups, open = {}, nil
  for i, f in ipairs(frames) do
    if not tail[i] then
      if not open then
        open = { name = f.name, file = f.file, line = f.line, sigframe = f.sigframe }
        groups[#groups + 1] = open
      end
      open.name = f.name
      if not inl[i] then open = nil end
    end
  end
  return { groups = groups, sym = sym, off = off, raw = out }
end

-- Function names as both sides print them, reduced to "scope::name<args>".
local function norm(n)
  if not n then return nil end
  n = n:gsub(" %[clone [^%]]*%]", ""):gsub("%.part%.%d+", ""):gsub("%.isra%.%d+", "")
       :gsub("%.constprop%.%d+", ""):gsub("%.cold", "")
  -- cut the parameter list (the first "(" outside <...>), then a return type
  local depth, cut = 0, nil
  for i = 1, #n do
    local c = n:sub(i, i)
    if c == "<" then depth = depth + 1 elseif c == ">" then depth = depth - 1
    elseif c == "(" and depth == 0 and i > 1 then cut = i break end
  end
  if cut then n = n:sub(1, cut - 1) end
  depth = 0
  local last = 1
  for i = 1, #n do
    local c = n:sub(i, i)
    if c == "<" then depth = depth + 1 elseif c == ">" then depth = depth - 1
    elseif c == " " and depth == 0 then last = i + 1 end
  end
  return n:sub(last)
end

local function base(f) return f and f:match("[^/]+$") end

local function compare(name, where)
  local p = prog(name)
  local g = gdb_frames(p, where)
  assert.is_truthy(g.sym, g.raw)
  -- gdb's name, glob characters escaped ("... [clone .isra.0]")
  local args = { S .. "sym_bt.lua", (g.sym:gsub("[%[%*%?]", "[%0]")), tostring(g.off) }
  for _, gr in ipairs(g.groups) do args[#args + 1] = gr.name or "-" end
  args[#args + 1] = "--"
  args[#args + 1] = p
  local native = capture(h.quote(p))
  local r = h.run(args)
  assert.equal(0, r.status, r.stderr)
  assert.equal(native, r.stdout)
  local lf = {}
  for i, n, file, line, alias in r.stderr:gmatch("FRAME\t(%d+)\t([^\t]+)\t([^\t]+)\t(%d+)\t(%d)") do
    lf[tonumber(i)] = { name = n ~= "-" and n or nil, file = file ~= "-" and file or nil,
                        line = tonumber(line) ~= 0 and tonumber(line) or nil, alias = alias == "1" }
  end
  assert.is_true(#lf >= #g.groups, r.stderr .. "\n--- gdb:\n" .. g.raw)
  for i, gr in ipairs(g.groups) do
    local l = lf[i]
    local what = string.format("frame %d: gdb %s at %s:%s, lurk %s at %s:%s", i, tostring(gr.name),
      tostring(gr.file), tostring(gr.line), tostring(l.name), tostring(l.file), tostring(l.line))
    if gr.name and gr.name ~= "??" then
      assert.is_true(norm(gr.name) == norm(l.name) or l.alias, what)
    else
      assert.is_nil(l.name, what)
    end
    if not gr.sigframe then -- (gdb shows no line for the signal trampoline)
      assert.equal(base(gr.file), base(l.file), what)
      assert.equal(gr.line, l.line, what)
    end
  end
  return #g.groups
end

describe("backtraces against gdb", function()
  it("C at -O2 -fomit-frame-pointer: leaf <- mid <- top <- main", function()
    assert.equal(4, compare("bt_c", "leaf"))
  end)

  it("C: a qsort comparator, called back from inside libc", function()
    assert.is_true(compare("bt_c", "cmp") >= 4)
  end)

  it("C: a noreturn call that ends its caller (the return address is outside it)", function()
    assert.equal(3, compare("bt_c", "finish"))
  end)

  it("C: a signal handler, through the signal frame to the raise and its caller", function()
    assert.is_true(compare("bt_c", "on_usr1") >= 5)
  end)

  it("C++: a template member function", function()
    assert.equal(3, compare("bt_cxx", "Box<long>::twice"))
  end)

  it("C++: a destructor run by an exception's landing pad", function()
    assert.equal(3, compare("bt_cxx", "Guard::~Guard"))
  end)

  it("C++: __cxa_throw in libstdc++, then the personality routine under libgcc's unwinder", function()
    assert.equal(3, compare("bt_cxx", "__cxa_throw"))
    assert.equal(5, compare("bt_cxx", "__gxx_personality_v0"))
  end)
end)
