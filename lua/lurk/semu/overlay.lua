--- lurk.semu.overlay: semu's file-system sandbox. Writes under the sandboxed
-- paths go to an overlay directory O, reads see O first; deletes become
-- whiteouts; directory listings merge both. docs/tools.md, "semu" has the
-- semantics and their limits.
--
-- A real path P (absolute, normalized) has its upper copy at O..P and its
-- whiteout at O/.semu-wh/DIR/.wh.NAME (DIR/NAME = P). P is visible when O..P exists, or P exists and
-- has no whiteout. Path arguments are rewritten to O..P in memory lurk owns
-- (an FFI buffer kept until the call returns): the kernel reads them from
-- the process like any other.
local M = {}

local ffi = require "ffi"
local calls = require "lurk.semu.calls"
local errno = require "lurk.errno"

local E = errno.number
local s32 = calls.s32
local band = bit.band

local AT_FDCWD, AT_REMOVEDIR = -100, 0x200
local O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_DIRECTORY, O_TMPFILE = 1, 2, 0x40, 0x200, 0x10000, 0x400000

-- call -> { dirfd arg or false, path arg, kind }; kind: read (lookups),
-- modify (copy-up first), create (a new name), delete, open, rename, link
local PATHS = {
  stat = { false, 1, "read" }, lstat = { false, 1, "read" }, newfstatat = { 1, 2, "read" },
  statx = { 1, 2, "read" }, access = { false, 1, "read" }, faccessat = { 1, 2, "read" },
  faccessat2 = { 1, 2, "read" }, readlink = { false, 1, "read" }, readlinkat = { 1, 2, "read" },
  chdir = { false, 1, "read" }, execve = { false, 1, "read" }, execveat = { 1, 2, "read" },
  getxattr = { false, 1, "read" }, lgetxattr = { false, 1, "read" }, listxattr = { false, 1, "read" },
  llistxattr = { false, 1, "read" }, statfs = { false, 1, "read" },
  chmod = { false, 1, "modify" }, fchmodat = { 1, 2, "modify" }, chown = { false, 1, "modify" },
  lchown = { false, 1, "modify" }, fchownat = { 1, 2, "modify" }, truncate = { false, 1, "modify" },
  utimensat = { 1, 2, "modify" }, utime = { false, 1, "modify" }, utimes = { false, 1, "modify" },
  setxattr = { false, 1, "modify" }, lsetxattr = { false, 1, "modify" },
  mkdir = { false, 1, "create" }, mkdirat = { 1, 2, "create" }, symlink = { false, 2, "create" },
  symlinkat = { 2, 3, "create" }, mknod = { false, 1, "create" }, mknodat = { 1, 2, "create" },
  unlink = { false, 1, "delete" }, unlinkat = { 1, 2, "delete" }, rmdir = { false, 1, "delete" },
  open = { false, 1, "open" }, openat = { 1, 2, "open" }, creat = { false, 1, "open" },
  rename = { false, 1, "rename", false, 2 }, renameat = { 1, 2, "rename", 3, 4 },
  renameat2 = { 1, 2, "rename", 3, 4 },
  link = { false, 1, "link", false, 2 }, linkat = { 1, 2, "link", 3, 4 },
}

function M.syscalls()
  local t = { "getdents64", "getcwd", "close" }
  for k in pairs(PATHS) do t[#t + 1] = k end
  return t
end

function M.setup(semu, run)
  local cfg = run.config
  local O = cfg.overlay
  local W = O .. "/.semu-wh"
  local fs = semu.fs
  local roots = {}
  for p in (cfg.sandbox or "/"):gmatch("[^:]+") do roots[#roots + 1] = calls.normalize(p) end
  local function under(p, d) return d == "/" or p == d or p:sub(1, #d + 1) == d .. "/" end
  local EXCL = { O, "/proc", "/dev", "/sys", run.state }

  lurk.mkdir(O, 493)
  lurk.mkdir(W, 493)
  if not lurk.stat(W) then error("semu: cannot make the overlay directory " .. O, 0) end

  -- The overlay's own paths seen as the real ones (a cwd or fd inside O).
  local function virt(p)
    if p and under(p, O) and not under(p, W) then
      local v = p:sub(#O + 1)
      return v == "" and "/" or v
    end
    return p
  end
  local cwd0, fdpath0 = fs.cwd, fs.fdpath
  fs.cwd = function() return virt(cwd0()) end
  fs.fdpath = function(fd) return virt(fdpath0(fd)) end
  fs.virt = virt

  local function boxed(p)
    for _, x in ipairs(EXCL) do if under(p, x) then return false end end
    for _, r in ipairs(roots) do if under(p, r) then return true end end
    return false
  end

  local function dirname(p) return p:match("^(.*)/[^/]*$") or "/" end
  local function basename(p) return p:match("([^/]*)$") end
  -- a whiteout is a file .wh.NAME in W's copy of the parent (aufs's naming)
  local function whpath(p) return W .. dirname(p) .. "/.wh." .. basename(p) end
  local function whiteout(p) return lurk.stat(whpath(p)) ~= nil end
  local function upper(p) return lurk.stat(O .. p) end
  local function lower(p)
    local st = lurk.stat(p)
    if st and not whiteout(p) then return st end
  end
  local function visible(p) return upper(p) or lower(p) end

  local function mkdirs(base, p, modes)
    local cur = base
    for comp in p:gmatch("[^/]+") do
      cur = cur .. "/" .. comp
      if not lurk.stat(cur) then
        local lo = modes and lurk.stat(cur:sub(#base + 1))
        lurk.mkdir(cur, lo and lo.type == "dir" and lo.mode or 493)
      end
    end
  end
  local function mkparents(p) mkdirs(O, dirname(p), true) end
  local function unwhite(p) os.remove(whpath(p)) end
  local function add_whiteout(p)
    mkdirs(W, dirname(p))
    local f = io.open(whpath(p), "wb")
    if f then f:close() end
  end

  local function copy_file(src, dst, st, empty)
    local out = io.open(dst, "wb")
    if not out then return false end
    if not empty then
      local inp = io.open(src, "rb")
      if inp then
        while true do
          local b = inp:read(1048576)
          if not b then break end
          out:write(b)
        end
        inp:close()
      end
    end
    out:close()
    lurk.chmod(dst, st.mode)
    return true
  end

  -- Give p an upper copy (of a file, a link, or a directory: recursively if
  -- deep, for a rename). true if p now has one.
  local function copy_up(p, deep, empty)
    if upper(p) then
      if not deep then return true end
    end
    local st = lower(p)
    if not st then return upper(p) ~= nil end
    mkparents(p)
    if st.type == "dir" then
      if not upper(p) then lurk.mkdir(O .. p, st.mode) end
      if deep then
        for _, n in ipairs(lurk.dir(p) or {}) do copy_up(p .. "/" .. n, true) end
      end
    elseif st.type == "link" then
      if not upper(p) then lurk.symlink(lurk.readlink(p) or "", O .. p) end
    elseif not upper(p) then
      copy_file(p, O .. p, st, empty)
    end
    return true
  end

  -- The merged names of directory p (upper and lower, whiteouts taken out).
  local function merged(p)
    local seen, list = {}, {}
    local function add(n)
      if not seen[n] then seen[n] = true list[#list + 1] = n end
    end
    for _, n in ipairs(lurk.dir(O .. p) or {}) do
      if not (p == "/" and n == ".semu-wh") then add(n) end
    end
    if not whiteout(p) then
      for _, n in ipairs(lurk.dir(p) or {}) do
        if not whiteout((p == "/" and "" or p) .. "/" .. n) then add(n) end
      end
    end
    return list
  end

  -- Rewriting arguments: strings kept alive per thread until the post.
  local keep = {}
  local function set_path(e, i, s)
    local buf = ffi.new("char[?]", #s + 1)
    ffi.copy(buf, s)
    local k = keep[e.tid] or {}
    keep[e.tid] = k
    k[#k + 1] = buf
    e.args[i] = tonumber(ffi.cast("intptr_t", buf))
  end

  local function path_arg(e, di, pi)
    local a = e.args[pi]
    if a == 0 then return nil end
    local s = lurk.cstring(a, 4096)
    if not s or s == "" then return nil end
    return calls.resolve(fs, di and e.args[di], s)
  end

  local after = {}    -- tid -> function(e) to run at post
  local dirs = {}     -- fd -> { path, list, pos } for merged listings
  local wantdir = {}  -- tid -> path of a directory being opened

  local function do_open(e, d, p)
    local fl
    if e.name == "creat" then fl = O_WRONLY + O_CREAT + O_TRUNC
    else fl = tonumber(e.args[d[1] and 3 or 2] % 4294967296) end
    local write = band(fl, 3) ~= 0 or band(fl, O_CREAT) ~= 0 or band(fl, O_TRUNC) ~= 0
    if band(fl, O_TMPFILE) ~= 0 then
      mkdirs(O, p, true)
      set_path(e, d[2], O .. p)
      return
    end
    if write then
      if upper(p) then set_path(e, d[2], O .. p) return end
      local lo = lower(p)
      if lo then
        if lo.type == "dir" then return end -- the kernel says EISDIR
        copy_up(p, false, band(fl, O_TRUNC) ~= 0)
        set_path(e, d[2], O .. p)
      elseif band(fl, O_CREAT) ~= 0 then
        if not visible(dirname(p)) and dirname(p) ~= "/" then return -E.ENOENT end
        mkparents(p)
        unwhite(p)
        set_path(e, d[2], O .. p)
      elseif whiteout(p) then
        return -E.ENOENT
      end
      return
    end
    local up = upper(p)
    local lo = lower(p)
    local isdir = (up and up.type == "dir") or (lo and lo.type == "dir")
    if isdir then
      -- read from whichever exists (the lower first: the path the program
      -- gave), the listing merged at getdents64
      if not lo then set_path(e, d[2], O .. p) end
      wantdir[e.tid] = p
      return
    end
    if up then set_path(e, d[2], O .. p)
    elseif whiteout(p) then return -E.ENOENT end
  end

  local function do_delete(e, d, p)
    local rmdir = e.name == "rmdir" or (e.name == "unlinkat" and band(tonumber(e.args[3] % 4294967296), AT_REMOVEDIR) ~= 0)
    local up, lo = upper(p), lower(p)
    local st = up or lo
    if not st then return -E.ENOENT end
    if rmdir then
      if st.type ~= "dir" then return -E.ENOTDIR end
      if #merged(p) > 0 then return -E.ENOTEMPTY end
    elseif st.type == "dir" then
      return -E.EISDIR
    end
    if lo then add_whiteout(p) end
    if up then set_path(e, d[2], O .. p) return end -- the kernel removes the upper copy
    return 0 -- only the lower one: the whiteout is the delete
  end

  table.insert(semu.hooks.pre, function(e)
    local n = e.name
    if n == "getdents64" then
      local dd = dirs[s32(e.args[1])]
      if not dd then return end
      dd.list = dd.list or merged(dd.path)
      local out, size, cap = {}, 0, tonumber(e.args[3])
      while dd.pos <= #dd.list + 2 do
        local name = dd.pos == 1 and "." or dd.pos == 2 and ".." or dd.list[dd.pos - 2]
        local reclen = math.floor((19 + #name + 1 + 7) / 8) * 8
        if size + reclen > cap then break end
        local full = dd.pos <= 2 and nil or (dd.path == "/" and "" or dd.path) .. "/" .. name
        local st = full and (upper(full) or lurk.stat(full))
        local t = not full and 4 or not st and 0 or st.type == "dir" and 4 or st.type == "file" and 8 or st.type == "link" and 10 or 0
        local rec = ffi.new("uint8_t[?]", reclen)
        ffi.cast("uint64_t *", rec)[0] = 1000 + dd.pos
        ffi.cast("int64_t *", rec + 8)[0] = dd.pos
        ffi.cast("uint16_t *", rec + 16)[0] = reclen
        rec[18] = t
        ffi.copy(rec + 19, name)
        out[#out + 1] = ffi.string(rec, reclen)
        size = size + reclen
        dd.pos = dd.pos + 1
      end
      if size == 0 and dd.pos <= #dd.list + 2 then return -E.EINVAL end
      if size > 0 then lurk.write(e.args[2], table.concat(out)) end
      return size
    elseif n == "close" then
      dirs[s32(e.args[1])] = nil
      return
    end
    local d = PATHS[n]
    if not d then return end
    local p = path_arg(e, d[1], d[2])
    if not p then return end
    local kind = d[3]
    if kind == "rename" or kind == "link" then
      local q = path_arg(e, d[4], d[5])
      if not q or not (boxed(p) or boxed(q)) then return end
      if not (boxed(p) and boxed(q)) then return -E.EXDEV end
      if not visible(p) then return -E.ENOENT end
      if kind == "rename" and n == "renameat2" and band(tonumber(e.args[5]), 2) ~= 0 then return -E.EINVAL end
      local lo = lower(p)
      copy_up(p, kind == "rename")
      if not visible(dirname(q)) and dirname(q) ~= "/" then return -E.ENOENT end
      mkparents(q)
      set_path(e, d[2], O .. p)
      set_path(e, d[5], O .. q)
      after[e.tid] = function(pe)
        if s32(pe.result) == 0 then
          unwhite(q)
          if kind == "rename" and lo then add_whiteout(p) end
        end
      end
      return
    end
    if not boxed(p) then return end
    if kind == "read" then
      if n == "chdir" then
        local up, lo = upper(p), lower(p)
        if up and not lo then set_path(e, d[2], O .. p) elseif not lo and whiteout(p) then return -E.ENOENT end
        return
      end
      if upper(p) then set_path(e, d[2], O .. p) elseif whiteout(p) then return -E.ENOENT end
    elseif kind == "modify" then
      if not visible(p) then return -E.ENOENT end
      copy_up(p)
      set_path(e, d[2], O .. p)
    elseif kind == "create" then
      if visible(p) then return -E.EEXIST end
      if not visible(dirname(p)) and dirname(p) ~= "/" then return -E.ENOENT end
      mkparents(p)
      unwhite(p)
      set_path(e, d[2], O .. p)
    elseif kind == "delete" then
      return do_delete(e, d, p)
    elseif kind == "open" then
      return do_open(e, d, p)
    end
  end)

  table.insert(semu.hooks.post, function(e)
    local tid = e.tid
    keep[tid] = nil
    local a = after[tid]
    if a then after[tid] = nil a(e) end
    local wd = wantdir[tid]
    if wd then
      wantdir[tid] = nil
      local fd = s32(e.result)
      if fd >= 0 then dirs[fd] = { path = wd, pos = 1 } end
    end
    if e.name == "getcwd" and s32(e.result) > 0 then
      local s = lurk.cstring(e.args[1], 4096)
      local v = s and virt(s)
      if v and v ~= s then
        lurk.write(e.args[1], v .. "\0")
        e.result = #v + 1
      end
    end
  end)

  semu.extra_syscalls = M.syscalls()
end

return M
