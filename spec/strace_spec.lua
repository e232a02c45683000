-- scripts/strace.lua against strace -f on the same programs; the
-- syscall_pre/syscall_post events; module_load/module_unload.
local h = require "spec.util.helper"
local S = h.root .. "/spec/lua/"

local sh = h.sh
local tmp = h.tmpdir()
teardown(function() sh("rm -rf " .. h.quote(tmp)) end)
local function cc(out, ...) return h.gcc(tmp .. "/" .. out, "-O2", ...) end

-- strace must be installed and allowed to ptrace.
local have_strace = sh("strace -o /dev/null /bin/true >/dev/null 2>&1") == 0
-- setarch -R: no address space randomization
local have_setarch = sh("setarch -R /bin/true >/dev/null 2>&1") == 0

-- -- Reading both traces -----------------------------------------------------------
-- strace -f -o FILE writes "PID call = result"; strace.lua with `pids` writes
-- "[pid TID] call = result". Calls cut by another thread's line come as
-- "call <unfinished ...>" and "<... name resumed>rest" (strace does it for any
-- call; strace.lua only for execve): they are joined. "+++"/"---" lines
-- (exit and signal reports) are dropped. Returns the calls per thread, in the
-- threads' order of first appearance.
local function parse(text, lurk)
  local per, order, unfinished = {}, {}, {}
  for line in text:gmatch("[^\n]+") do
    local pid, rest
    if lurk then pid, rest = line:match("^%[pid (%d+)%] (.*)$")
    else pid, rest = line:match("^(%d+) +(.*)$") end
    if pid and not rest:match("^%+%+%+") and not rest:match("^%-%-%-") then
      local resumed = rest:match("^<%.%.%. [%w_]+ resumed>(.*)$")
      if resumed then
        rest, unfinished[pid] = (unfinished[pid] or "") .. resumed, nil
      elseif rest:match(" <unfinished %.%.%.>$") then
        unfinished[pid], rest = rest:gsub(" <unfinished %.%.%.>$", ""), nil
      end
      if rest then
        if not per[pid] then per[pid] = {} order[#order + 1] = pid end
        local name = rest:match("^([%w_]+)%(")
        local call, res = rest:match("^(.-) *= ([^=]-)$")
        table.insert(per[pid], { name = name, call = call, res = res })
      end
    end
  end
  local threads = {}
  for i, pid in ipairs(order) do threads[i] = per[pid] end
  return threads
end

-- What may differ between two runs of the same program, natively or not:
-- addresses (ASLR, and lurk's own mappings shift the app's), thread and
-- process ids, and futex calls (whether a lock or a join waits depends on
-- scheduling). The arguments of calls with structures strace.lua shows as
-- addresses (stat, sysinfo, ...), ioctls whose request it does not name and
-- getrandom's random bytes are compared by name and result only.
local TIDS = { gettid = true, getpid = true, getppid = true, set_tid_address = true, clone = true,
               clone3 = true, fork = true, vfork = true }
local SKIP = { futex = true }
local NO_ARGS = { newfstatat = true, fstat = true, stat = true, lstat = true, statx = true,
                  sysinfo = true, ioctl = true, prlimit64 = true, uname = true, getrandom = true,
                  statfs = true, fstatfs = true, connect = true, sendto = true, recvfrom = true,
                  recvmsg = true, sendmsg = true, getsockname = true, poll = true }

local function normal(c)
  local res = c.res:gsub("0x%x+", "ADDR")
  if TIDS[c.name] and res:match("^%d+$") then res = "TID" end
  local call = NO_ARGS[c.name] and c.name or c.call:gsub("0x%x+", "ADDR"):gsub("%[%d+%]", "[TID]")
  if TIDS[c.name] then call = call:gsub("= %d+", "") end
  return call .. " = " .. res
end

local function calls(list)
  local t = {}
  for _, c in ipairs(list) do
    if not SKIP[c.name] then t[#t + 1] = normal(c) end
  end
  return t
end

-- The calls the dynamic loader makes before lurk takes over: lurk starts in
-- liblurk.so's constructor, which ld.so runs after mapping and relocating
-- every library and after the constructors of the libraries it initializes
-- first (libselinux's, for ls, reads /proc/filesystems). A native trace
-- starts with them; lurk's cannot.
local LOADER = { execve = true, brk = true, mmap = true, access = true, openat = true, read = true,
                 pread64 = true, newfstatat = true, close = true, arch_prctl = true,
                 set_tid_address = true, set_robust_list = true, rseq = true, mprotect = true,
                 prlimit64 = true, munmap = true, statfs = true, getrandom = true }

-- Run prog natively under strace -f and under lurk's strace; compare per
-- thread. The main thread's lurk trace must be the tail of the native one
-- (after the loader's prefix); every other thread's must be the whole of it.
-- wrap: words to run both commands under (setarch -R).
local function compare(prog, min_main, wrap)
  local st, lk = tmp .. "/native.st", tmp .. "/lurk.st"
  os.remove(st) os.remove(lk)
  local words = {}
  for i, w in ipairs(prog) do words[i] = h.quote(w) end
  local cmd = table.concat(words, " ")
  local pre = wrap and table.concat(wrap, " ") .. " " or ""
  -- the same redirections for both: stdio's buffering and lseek results
  -- depend on what fd 1 is
  assert.equal(0, sh(pre .. "strace -f -qq -o " .. st .. " " .. cmd .. " >/dev/null 2>&1 </dev/null"))
  assert.equal(0, sh(pre .. h.quote(h.lurk) .. " run -t strace=" .. lk .. ",pids -- " .. cmd ..
                     " >/dev/null 2>&1 </dev/null"))
  local native, lurk = parse(h.slurp(st), false), parse(h.slurp(lk), true)
  assert.equal(#native, #lurk, "threads")
  for i = 1, #native do
    local a, b = calls(native[i]), calls(lurk[i])
    local off = #a - #b
    if i == 1 then
      assert.is_true(off >= 0, "lurk saw more calls than strace")
      assert.is_true(#b >= min_main, "lurk saw only " .. #b .. " calls")
      for k = 1, off do
        local name = a[k]:match("^[%w_]+")
        assert.is_true(LOADER[name], "before takeover: " .. a[k])
      end
    else
      assert.equal(0, off, "thread " .. i .. ": strace saw " .. #a .. " calls, lurk " .. #b)
    end
    for k = 1, #b do assert.equal(a[k + off], b[k], "thread " .. i .. ", call " .. k) end
  end
  return native, lurk
end

describe("strace.lua", function()
  local function need_strace()
    if not have_strace then pending("strace is missing or cannot ptrace here") end
    return have_strace
  end

  it("matches strace -f on ls", function()
    if not need_strace() then return end
    compare({ "/bin/ls", "-l", h.root .. "/spec" }, 40)
  end)

  -- /usr/bin/python3 is not PIE: it sits at 0x400000 and the kernel starts
  -- its heap (brk) at a random place up to 1 GiB above it. lurk maps its
  -- code cache for python's code 32 MiB above it (engine/cache.c chunk_new),
  -- inside that range: in one run in a hundred or so the heap starts below
  -- the cache, or inside it, and python's first brk fails; malloc then maps 1 MiB
  -- instead (mmap) and allocates differently, so the traces differ by a few
  -- calls at the start. Without randomization (setarch -R) the heap starts
  -- right after python's data, 25 MiB below the cache: both runs make the
  -- same calls every time. The next case shows the cache/heap overlap
  -- itself, without randomness.
  it("matches strace -f on python3 -c pass", function()
    if not need_strace() then return end
    compare({ "/usr/bin/python3", "-c", "pass" }, 200, have_setarch and { "setarch", "-R" } or nil)
  end)

  it("matches strace -f on a non-PIE program growing its heap by 64 MiB (setarch -R)", function()
    if not need_strace() then return end
    if not have_setarch then pending("setarch -R does not work here") return end
    local src = h.tmpfile([[
#include <stdio.h>
#include <unistd.h>
int main(void) {
  if (sbrk(64 << 20) == (void *)-1) { puts("sbrk(64 MiB) failed"); return 1; }
  puts("sbrk(64 MiB) ok");
  return 0;
}
]], ".c")
    local prog = cc("strace_brk", src, "-no-pie")
    os.remove(src)
    local r = h.run({ "--", prog }, { env = "setarch -R" })
    -- XXX fails while lurk may map its code cache in the heap's way
    assert.equal("sbrk(64 MiB) ok\n", r.stdout, "the heap cannot grow: lurk mapped something above it")
    compare({ prog }, 2, { "setarch", "-R" })
  end)

  it("matches strace -f on a program with threads, thread by thread", function()
    if not need_strace() then return end
    local prog = cc("strace_thr", S .. "strace_thr.c", "-pthread")
    local native = compare({ prog }, 10)
    assert.equal(4, #native)
  end)

  it("prints strace's format to lurk's output", function()
    local r = h.run{ "-t", "strace", "--", "/bin/cat", "/nonexistent" }
    assert.equal(1, r.status)
    -- " = " at column 40 when the call is shorter, as strace does
    local call = 'close(1)'
    assert.truthy(r.stderr:find("\n" .. call .. string.rep(" ", 39 - #call) .. " = 0\n", 1, true))
    assert.matches('\nopenat%(AT_FDCWD, "/nonexistent", O_RDONLY%) = %-1 ENOENT %(No such file or directory%)\n', r.stderr)
    assert.matches('write%(2, "/nonexistent", 12%) += 12\n', r.stderr) -- after cat's own message
    assert.matches("\nexit_group%(1%) += %?\n%+%+%+ exited with 1 %+%+%+\n$", r.stderr)
  end)

  it("prefixes lines with the pid after a fork, and shows execve unfinished", function()
    -- sh forks (vfork) a child that execs cat: the exec'd cat's lines have
    -- no prefix (its lurk starts anew and cannot know it was forked)
    local r = h.run{ "-t", "strace", "--", "/bin/sh", "-c", "echo hi; /bin/cat /nonexistent; exit 3" }
    assert.equal(3, r.status)
    assert.equal("hi\n", r.stdout)
    assert.matches('\nwrite%(1, "hi\\n", 3%) += 3\n', r.stderr)
    assert.matches('\n%[pid %d+%] execve%("/bin/cat", %["/bin/cat", "/nonexistent"%], 0x%x+ /%* %d+ vars %*/%) <unfinished %.%.%.>\n', r.stderr)
    assert.matches('\n%[pid %d+%] v?fork%(%) += %d+\n', r.stderr)
    assert.matches("\n%[pid %d+%] exit_group%(3%) += %?\n%[pid %d+%] %+%+%+ exited with 3 %+%+%+\n$", r.stderr)
  end)

  it("quotes and cuts strings like strace -s", function()
    local r = h.run{ "-t", "strace=s=8", "--", "/usr/bin/printf", "a\\tb\\001\\0012345678" }
    assert.equal(0, r.status)
    -- a, tab, b, \1, \1 and digits: \1 before a digit takes three octal digits
    assert.matches('write%(1, "a\\tb\\1\\001234"%.%.%., 12%)', r.stderr)
  end)

  it("appends to a file", function()
    local f = tmp .. "/out.txt"
    os.remove(f)
    local r = h.run{ "-t", "strace=" .. f, "--", "/bin/true" }
    assert.equal(0, r.status)
    assert.equal("", r.stderr)
    assert.matches("exit_group%(0%) += %?\n%+%+%+ exited with 0 %+%+%+\n$", h.slurp(f))
  end)
end)

describe("syscall events", function()
  local py = "/usr/bin/python3"

  it("give the number, name, thread and arguments, then the result", function()
    local r = h.run{ "-e", [[
      lurk.on("syscall_pre", function(e)
        if e.name == "openat" then
          print("pre", e.number, e.name, e.tid == lurk.tid(), lurk.cstring(e.args[2]), #e.args)
        end
      end)
      lurk.on("syscall_post", function(e)
        if e.name == "openat" then print("post", e.result) end
      end)]], "--", "/bin/cat", "/nonexistent" }
    assert.equal(1, r.status)
    assert.matches("pre\t257\topenat\ttrue\t/nonexistent\t6\npost\t%-2\n", r.stderr)
  end)

  it("take effect when a pre handler changes an argument", function()
    -- write's fd: stdout to stderr; then its length: only 2 bytes go out
    local r = h.run{ "-e", [[lurk.on("syscall_pre", function(e)
        if e.name == "write" and e.args[1] == 1 then e.args[1] = 2 end end)]],
      "--", "/bin/echo", "moved" }
    assert.equal(0, r.status)
    assert.equal("", r.stdout)
    assert.equal("moved\n", r.stderr)
    r = h.run{ "-e", [[lurk.on("syscall_pre", function(e)
        if e.name == "write" then e.args[3] = math.min(e.args[3], 2) end end)]],
      "--", py, "-c", "import os; n = os.write(1, b'hello'); os.write(1, b'%d' % n)" }
    assert.equal(0, r.status)
    assert.equal("he2", r.stdout)
  end)

  it("skip a call with e:skip(result); post sees it", function()
    local r = h.run{ "-e", [[
      lurk.on("syscall_pre", function(e) if e.name == "getpid" then e:skip(4242) end end)
      lurk.on("syscall_post", function(e)
        if e.name == "getpid" then print("post", e.result, e.skipped) end end)]],
      "--", py, "-c", "import os; print(os.getpid())" }
    assert.equal(0, r.status)
    assert.equal("4242\n", r.stdout)
    assert.equal("post\t4242\ttrue\n", r.stderr)
    -- an error result
    r = h.run{ "-e", [[lurk.on("syscall_pre", function(e)
        if e.name == "unlink" or e.name == "unlinkat" then e:skip(-13) end end)]],
      "--", "/bin/rm", "-f", tmp .. "/nope" }
    assert.equal(1, r.status)
    assert.matches("Permission denied", r.stdout .. r.stderr)
  end)

  it("let a post handler change the result", function()
    local r = h.run{ "-e", [[lurk.on("syscall_post", function(e)
        if e.name == "getuid" then e.result = 4321 end end)]],
      "--", py, "-c", "import os; print(os.getuid())" }
    assert.equal(0, r.status)
    assert.equal("4321\n", r.stdout)
  end)

  it("have no post for exit_group; fork's post runs in parent and child", function()
    local r = h.run{ "-e", [[
      local pre, post = {}, {}
      lurk.on("syscall_pre", function(e) pre[e.name] = (pre[e.name] or 0) + 1 end)
      lurk.on("syscall_post", function(e)
        post[e.name] = (post[e.name] or 0) + 1
        if e.name == "clone" or e.name == "fork" then
          -- one write per line: parent and child share stderr
          io.write((e.result == 0 and "child " or "parent ") .. tostring(lurk.pid() ~= e.result) .. "\n")
        end
      end)
      lurk.on("exit", function() print("exit_group", pre.exit_group, post.exit_group) end)]],
      "--", py, "-c", "import os\npid = os.fork()\nif pid == 0: os._exit(0)\nos.waitpid(pid, 0)" }
    assert.equal(0, r.status)
    local lines = {}
    for l in r.stderr:gmatch("[^\n]+") do lines[#lines + 1] = l end
    table.sort(lines)
    -- the child ends with _exit (exit_group without Python's exit handlers)
    assert.same({ "child true", "exit_group\t1\tnil", "exit_group\t1\tnil", "parent true" }, lines)
  end)

  it("come in the kernel's order for mmap and munmap of two threads at once (stress: 5 runs)", function()
    -- Two threads map and unmap regions of one size, 3000 times each: the
    -- kernel often hands one the range the other has just unmapped. A post
    -- of an mmap at a range still mapped by the posts seen so far means the
    -- munmap's post came after it (it did in 4 of 5 runs before the calls
    -- and their posts were ordered under one lock).
    local prog = cc("maps_race", S .. "maps_race.c", "-pthread")
    local script = [==[
      local LEN = 68 * 1024
      local live, late, n = {}, 0, 0
      lurk.on("syscall_post", function(e)
        local r = e.result
        if r < 0 and r > -4096 then return end
        if e.name == "mmap" and e.args[2] == LEN then
          n = n + 1
          if live[r] then late = late + 1 end
          live[r] = true
        elseif e.name == "munmap" and e.args[2] == LEN then
          live[e.args[1]] = nil
        end
      end, { only = { "mmap", "munmap" } })
      lurk.on("exit", function() print("mmaps", n, "late munmap posts", late) end)]==]
    for _ = 1, 5 do
      local r = h.run{ "-e", script, "--", prog, "3000" }
      assert.equal(0, r.status)
      assert.equal("9000\n", r.stdout)
      assert.equal("mmaps\t6000\tlate munmap posts\t0\n", r.stderr)
    end
  end)

  it("describe every call: lurk.syscall(number or name)", function()
    local r = h.eval([[
      local o = lurk.syscall("openat")
      print(o.number, o.name, o.ret, table.concat(o.args, " "))
      print(lurk.syscall(0).name, lurk.syscall(231).name, lurk.syscall(60).ret, lurk.syscall(999))
      print(lurk.syscall(435).name, lurk.syscall("mmap") == lurk.syscall(9))
      local n = 0
      for i = 0, 600 do if lurk.syscall(i) then n = n + 1 end end
      print(n)
      print(pcall(lurk.syscall, {}))]])
    assert.equal(0, r.status)
    assert.equal("257\topenat\tfd\tdirfd path open_flags mode\n" ..
                 "read\texit_group\tnone\tnil\n" ..
                 "clone3\ttrue\n" ..
                 "381\n" ..
                 "false\tbad argument #1 to '?' (number or string expected, got table)\n", r.stderr)
  end)

  it("read memory without faulting: lurk.read, lurk.cstring", function()
    local r = h.eval([[
      print(lurk.read(0, 4))
      print(lurk.cstring(8))
      lurk.on("syscall_pre", function(e)
        if e.name == "write" then
          print(lurk.read(e.args[2], e.args[3]), lurk.cstring(e.args[2], 2))
        end
      end)]], { "/bin/echo", "abc" })
    assert.equal(0, r.status)
    assert.matches("^nil\tcannot read 4 bytes at 0x0\nnil\tcannot read a string at 0x8\n", r.stderr)
    assert.matches("\nabc\n\tab\ttrue\n$", r.stderr)
  end)
end)

describe("module events", function()
  it("report the program and libc with their base, end and entry", function()
    -- The checks run inside the program: the lowest mapping of each path in
    -- /proc/self/maps, AT_ENTRY from /proc/self/auxv, e_entry from the file.
    local r = h.eval([[
      local loads = {}
      lurk.on("module_load", function(m) loads[#loads + 1] = m end)
      local function u64(s, i)
        local v = 0
        for k = i + 7, i, -1 do v = v * 256 + s:byte(k) end
        return v
      end
      lurk.on("exit", function()
        local low = {}
        for l in io.lines("/proc/self/maps") do
          local lo, path = l:match("^(%x+)%-%x+ %S+ %S+ %S+ %S+ +(/.*)$")
          if lo and (not low[path] or tonumber(lo, 16) < low[path]) then low[path] = tonumber(lo, 16) end
        end
        local auxv = io.open("/proc/self/auxv"):read("a")
        local at_entry
        for i = 1, #auxv, 16 do if u64(auxv, i) == 9 then at_entry = u64(auxv, i + 8) end end
        local mains, libc = 0
        for _, m in ipairs(loads) do
          if m.main then
            mains = mains + 1
            print("main", m.path, m.base == low[m.path], m.entry == at_entry, m["end"] == m.base + m.size)
          end
          if m.name == "libc.so.6" then libc = m end
        end
        local eh = io.open(libc.path):read(32)
        print("libc", libc.base == low[libc.path], libc.entry == libc.base + u64(eh, 25), mains)
        print("modules", #lurk.modules() == #loads, lurk.module_at(at_entry).main)
        local mine = false
        for _, m in ipairs(loads) do if m.name == "liblurk.so" then mine = true end end
        print("liblurk", mine)
      end)]], { "/bin/true" })
    assert.equal(0, r.status)
    assert.equal("main\t/usr/bin/true\ttrue\ttrue\ttrue\nlibc\ttrue\ttrue\t1\n" ..
                 "modules\ttrue\ttrue\nliblurk\tfalse\n", r.stderr)
  end)

  it("follow dlopen and dlclose", function()
    local lib = cc("libdlx.so", S .. "dl_lib.c", "-shared", "-fPIC")
    local prog = cc("dl_prog", S .. "dl_prog.c", "-ldl")
    local r = h.run{ "-e", [[
      lurk.on("module_load", function(m)
        if m.name == "libdlx.so" then
          print("load", m.path, m.base < m.entry or m.entry == m.base, m.size > 0,
                lurk.module_at(m.base + 16).path == m.path)
        end
      end)
      lurk.on("module_unload", function(m)
        if m.name == "libdlx.so" then print("unload", m.path) end
      end)
      lurk.on("exit", function()
        for _, m in ipairs(lurk.modules()) do if m.name == "libdlx.so" then print("still there") end end
      end)]], "--", prog, lib }
    assert.equal(0, r.status)
    assert.equal("answer 42\n", r.stdout)
    assert.equal("load\t" .. lib .. "\ttrue\ttrue\ttrue\nunload\t" .. lib .. "\n", r.stderr)
  end)
end)
