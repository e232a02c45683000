-- The json options of strace, countcalls, opcodes, bbcount and inscount
-- on real programs (ls, python3): python3's json module reads the JSON,
-- which must state the same facts as the text the tool writes in the same
-- run (a tool's `json=FILE` keeps its text; strace runs twice in one
-- process, once for text and once for JSON).
local h = require "spec.util.helper"

local tmp = h.tmpdir()
teardown(function() h.sh("rm -rf " .. h.quote(tmp)) end)

local PROGS = {
  ls = { "/bin/ls", "-l", "/usr/share" },
  python3 = { "/usr/bin/python3", "-c", "import json, re; print(json.dumps({'a': re.sub('b', 'c', 'abc')}))" },
}

-- Run prog natively and under lurk with the tool arguments; the program's
-- stdout and status must be the native ones. Returns lurk's output.
local function run(args, prog)
  local nat = h.capture(table.concat((function()
    local w = {}
    for i, a in ipairs(prog) do w[i] = h.quote(a) end
    return w
  end)(), " ") .. " 2>/dev/null; echo \"status $?\"")
  local words = {}
  for _, a in ipairs(args) do words[#words + 1] = a end
  words[#words + 1] = "--"
  for _, a in ipairs(prog) do words[#words + 1] = a end
  local r = h.run(words)
  assert.equal(nat, r.stdout .. "status " .. r.status .. "\n", r.stderr)
  return r.stderr
end

-- python3 prints the text lines the tool would write, from its JSON.
local function py(prog, file)
  local status, out = h.python(prog, file)
  assert.equal(0, status, out)
  return out
end

-- The lines of text that start with prefix.
local function grep(text, prefix)
  local t = {}
  for l in text:gmatch("[^\n]+") do
    if l:sub(1, #prefix) == prefix then t[#t + 1] = l end
  end
  return table.concat(t, "\n") .. "\n"
end

for name, prog in pairs(PROGS) do
  describe("json options on " .. name, function()
    it("strace: every call's name, arguments and result, as the text line has them", function()
      local text, js = tmp .. "/st." .. name .. ".txt", tmp .. "/st." .. name .. ".json"
      run({ "-t", "strace=" .. text, "-t", "strace=json=" .. js }, prog)
      local want = h.slurp(text)
      local got = py([[
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if "exited" in o:
        print("+++ exited with %d +++" % o["exited"]); continue
    call = "%s(%s)" % (o["name"], ", ".join(o["args"]))
    assert ("result" in o) == (o["retval"] != "?")
    if "errno" in o: assert o["retval"].startswith("-1 " + o["errno"] + " (") and o["result"] < 0
    print(call.ljust(39) + " = " + o["retval"])
]], js)
      assert.equal(want, got)
      assert.truthy(#want > 500)
    end)

    it("countcalls: per-thread and total counts", function()
      local js = tmp .. "/cc." .. name .. ".json"
      local out = run({ "-t", "countcalls=json=" .. js }, prog)
      local got = py([[
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1
o = json.loads(lines[0])
assert o["tool"] == "countcalls"
for t in o["threads"]:
    print("countcalls: thread %d%s: %d direct calls, %d indirect calls, %d returns" % (
        t["tid"], " (main)" if t["main"] else "", t["direct"], t["indirect"], t["returns"]))
t = o["total"]
print("countcalls: total, %d thread%s: %d direct calls, %d indirect calls, %d returns" % (
    t["threads"], "" if t["threads"] == 1 else "s", t["direct"], t["indirect"], t["returns"]))
]], js)
      assert.equal(grep(out, "countcalls: "), got)
    end)

    it("opcodes: the top mnemonics with counts and percentages", function()
      local js = tmp .. "/op." .. name .. ".json"
      local out = run({ "-t", "opcodes=12,json=" .. js }, prog)
      local got = py([[
import json, sys
o = json.loads(open(sys.argv[1]).read())
top = o["top"]
print("opcodes: %d instructions executed, %d mnemonics; %s:" % (o["instructions"], o["mnemonics"],
      "all" if len(top) == o["mnemonics"] else "top %d" % len(top)))
print("opcodes: %14s  %6s  %s" % ("count", "%", "mnemonic"))
for e in top:
    print("opcodes: %14d  %6.2f  %s" % (e["count"], e["percent"], e["mnemonic"]))
assert sum(e["count"] for e in top) <= o["instructions"]
]], js)
      assert.equal(grep(out, "opcodes: "), got)
    end)

    it("bbcount and inscount: totals, modules, threads", function()
      local bj, ij = tmp .. "/bb." .. name .. ".json", tmp .. "/ic." .. name .. ".json"
      local out = run({ "-t", "bbcount=threads,json=" .. bj, "-t", "inscount=modules,json=" .. ij }, prog)
      local got = py([[
import json, sys
b = json.loads(open(sys.argv[1]).read())
for t in b["threads"]:
    print("bbcount: thread %d%s: %d blocks executed" % (t["tid"], " (main)" if t["main"] else "", t["executed"]))
print("bbcount: %d blocks executed, %d distinct (%d translations)" % (b["executed"], b["distinct"], b["translations"]))
print("bbcount: %12s  %8s  %s" % ("executed", "distinct", "module"))
for m in b["modules"]:
    print("bbcount: %12d  %8d  %s" % (m["executed"], m["distinct"], m["path"]))
assert sum(m["executed"] for m in b["modules"]) == b["executed"]
i = json.loads(open(sys.argv[1].replace("/bb.", "/ic.")).read())
print("inscount: {:,} instructions".format(i["instructions"]))
for m in i["modules"]:
    print("  %-22s %12s" % (m["name"], "{:,}".format(m["instructions"])))
assert sum(m["instructions"] for m in i["modules"]) == i["instructions"]
]], bj)
      assert.equal(grep(out, "bbcount: ") .. grep(out, "inscount: ") .. grep(out, "  "), got)
    end)
  end)
end

describe("json options", function()
  it("write to lurk's output instead of the text with a bare `json`", function()
    local out = run({ "-t", "countcalls=json", "-t", "opcodes=3,json" }, PROGS.ls)
    local f = h.tmpfile(out)
    local got = py([[
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
print(" ".join(d["tool"] for d in docs), len(docs[1]["top"]))
]], f)
    os.remove(f)
    assert.equal("countcalls opcodes 3\n", got)
  end)

  it("append one line per process, %p naming each process's file", function()
    local js = tmp .. "/fork.json"
    run({ "-t", "countcalls=json=" .. js }, { "/bin/sh", "-c", "/bin/true; /bin/echo x" })
    local got = py([[
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
print(len(docs), len(set(d["pid"] for d in docs)))
]], js)
    -- sh and its two children (each exec'd program reports for its process)
    assert.equal("3 3\n", got)
    local r = h.run({ "-t", "opcodes=json=" .. tmp .. "/op.%p.json", "--", "/bin/true" })
    assert.equal(0, r.status)
    assert.matches("^opcodes: %d+ instructions executed", r.stderr) -- json=FILE keeps the text
    assert.equal(1, #h.capture("ls " .. h.quote(tmp) .. " | grep '^op\\.[0-9]*\\.json$'"):gsub("[^\n]", ""))
  end)

  it("reject unknown options", function()
    local r = h.run({ "-t", "countcalls=jsn", "--", "/bin/true" })
    assert.equal(1, r.status)
    assert.matches("countcalls: unknown option 'jsn' %(json, json=FILE%)", r.stderr)
  end)
end)
