-- lua/lurk/trace.lua in the specs' Lua: the trace is read by python3's
-- json module and every event is checked for the keys its phase needs
-- (the Trace Event Format's rules, as chrome://tracing and Perfetto read them).
local h = require "spec.util.helper"
h.lualib()
local trace = require "lurk.trace"

-- Checks every event; prints "ok N" or the first problem.
local PYCHECK = [[
import json, sys
ev = json.load(open(sys.argv[1]))
assert isinstance(ev, list), "not a JSON array"
need = {"X": ["name", "ts", "dur", "pid", "tid"], "B": ["name", "ts", "pid", "tid"],
        "E": ["ts", "pid", "tid"], "i": ["name", "ts", "pid", "tid", "s"],
        "C": ["name", "ts", "pid", "args"], "M": ["name", "pid", "args"]}
open_ = {}
for n, e in enumerate(ev):
    ph = e.get("ph")
    assert ph in need, "event %d: bad ph %r" % (n, ph)
    for k in need[ph]:
        assert k in e, "event %d (%s): no %s" % (n, ph, k)
    for k in ("ts", "dur"):
        if k in e: assert isinstance(e[k], (int, float)) and e[k] >= 0, "event %d: %s" % (n, k)
    if ph == "i": assert e["s"] in ("t", "p", "g")
    if ph == "C": assert all(isinstance(v, (int, float)) for v in e["args"].values())
    if ph == "M":
        assert e["name"] in ("process_name", "thread_name"), e["name"]
        assert isinstance(e["args"]["name"], str)
    key = (e["pid"], e["tid"])
    if ph == "B": open_.setdefault(key, []).append(e["name"])
    if ph == "E":
        assert open_.get(key), "event %d: E without B" % n
        assert open_[key].pop() == e["name"], "event %d: E closes another slice" % n
assert not any(open_.values()), "slices left open"
print("ok", len(ev))
print(json.dumps(ev, sort_keys=True))
]]

local function check(path)
  local status, out = h.python(PYCHECK, path)
  assert.equal(0, status, out)
  local n, dump = out:match("^ok (%d+)\n(.*)\n$")
  assert.truthy(n, out)
  return tonumber(n), dump
end

describe("lurk.trace", function()
  local tmp = h.tmpdir()
  teardown(function() h.sh("rm -rf " .. h.quote(tmp)) end)

  it("writes every kind of event, each with the keys its phase needs", function()
    local path = tmp .. "/t.json"
    local t = assert(trace.new(path, { pid = 4242 }))
    t:process_name("python3")
    t:thread_name(4243, "worker \"1\"")
    t:complete("parse", 10.5, 2.25, { tid = 4243, cat = "func", args = { file = "a.py", n = 3 } })
    t:begin("request", 20, { tid = 4243 })
    t:begin("inner", 21, { tid = 4243 })
    t:finish("inner", 22, { tid = 4243 })
    t:finish("request", 35.125, { tid = 4243 })
    t:instant("gc", 21, { scope = "p" })
    t:instant("tick", 22)
    t:counter("heap", 30, { bytes = 65536, blocks = 12 })
    assert.is_true(t:close())
    assert.is_true(t:close())
    local n, dump = check(path)
    assert.equal(10, n)
    assert.truthy(dump:find('{"args": {"file": "a.py", "n": 3}, "cat": "func", "dur": 2.25, "name": "parse", '
      .. '"ph": "X", "pid": 4242, "tid": 4243, "ts": 10.5}', 1, true))
    assert.truthy(dump:find('{"args": {"name": "worker \\"1\\""}, "name": "thread_name", "ph": "M", "pid": 4242, "tid": 4243}', 1, true))
    assert.truthy(dump:find('{"name": "tick", "ph": "i", "pid": 4242, "s": "t", "tid": 4242, "ts": 22}', 1, true))
    assert.truthy(dump:find('{"args": {"blocks": 12, "bytes": 65536}, "name": "heap", "ph": "C", "pid": 4242, "tid": 4242, "ts": 30}', 1, true))
  end)

  it("keeps a trace in memory", function()
    local t = trace.new(nil, { pid = 1 })
    t:complete("a", 0, 1)
    local text = t:text()
    assert.equal('[\n{"ph":"X","name":"a","ts":0,"dur":1,"pid":1,"tid":1}\n]\n', text)
    local path = h.tmpfile(text)
    assert.equal(1, (check(path)))
    os.remove(path)
    assert.equal("trace (1 events)", tostring(t))
  end)

  it("leaves a readable prefix when not closed (Chrome accepts a missing ']')", function()
    local path = tmp .. "/open.json"
    local f = assert(io.open(path, "w"))
    local t = trace.new(f, { pid = 7 })
    t:instant("x", 1)
    f:close()
    assert.equal('[\n{"ph":"i","name":"x","ts":1,"pid":7,"tid":7,"s":"t"}', h.slurp(path))
  end)

  it("checks its arguments", function()
    local t = trace.new(nil, { pid = 1 })
    assert.has_error(function() t:complete(1, 0, 1) end, "bad argument #1 to 'complete' (string expected, got number)")
    assert.has_error(function() t:complete("a", "x", 1) end,
      "bad argument #2 to 'complete' (timestamp (a number) expected, got string)")
    assert.has_error(function() t:instant("a", 1, { scope = "q" }) end,
      "bad argument #3 to 'instant' (scope must be 't', 'p' or 'g')")
    assert.has_error(function() t:counter("c", 1, { a = "x" }) end,
      "bad argument #3 to 'counter' (values: a table of names to numbers expected)")
    t:close()
    assert.has_error(function() t:instant("a", 1) end, "'instant': the trace is closed")
    local ok, err = trace.new("/nonexistent/t.json")
    assert.is_nil(ok)
    assert.matches("nonexistent", err)
  end)
end)
