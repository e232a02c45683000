--- memtrace: every load and store the program makes (address, size, read
-- or write, pc), recorded by compiled code into per-thread buffers and
-- handed to Lua in batches (DynamoRIO's memtrace sample, drmemtrace).
--
--   lurk run -t memtrace -- ls /tmp                 # a summary at exit
--   lurk run -t memtrace=top=20 -- ./prog           # with the 20 busiest pcs
--   lurk run -t memtrace=trace=out.%p.mt -- ./prog  # the whole trace, binary
--   lurk run -t memtrace=text=out.%p.txt -- ./prog  # the whole trace, text
--   lurk run -t memtrace=dump=out.123.mt -- /bin/true   # a binary trace as text
--   lurk run -t memtrace=main -- ./prog             # the main executable only
--
-- Summary (to lurk's output):
--
--   memtrace: 1,234,567 accesses: 812,345 loads, 422,222 stores, 9,876,543 bytes
--   memtrace: 3,456 distinct cache lines (64 B), 210 distinct pages (4 KiB)
--   memtrace: top 10 pcs by accesses:
--   memtrace:      45,678   3.70%  0x7f...  memcmp+0x21 in libc.so.6
--
-- Binary trace format (trace=FILE; `%p` is the pid): an 8-byte header
-- "LURKMT1\n", then batches, one per buffer hand-over, each a 16-byte
-- batch header (uint32 magic 0x3142544d "MTB1", uint32 tid, uint64 n)
-- followed by n records of three little-endian 64-bit fields: pc, address,
-- and info = size in bytes (bits 0-15) | 1 << 16 for a store. Records of
-- one thread are in program order; batches of different threads
-- interleave. The text form (text=FILE, or dump=FILE to convert) prints
-- one line a record: `tid pc R|W size address` in hex.
--
-- What is recorded: every memory operand of every instruction, explicit
-- and implicit (push, pop, call and ret touch the stack; movs has two), as
-- lurk.memrec places them (docs/lua-api.md): lea and nop compute addresses
-- without an access and are not recorded; a rep-prefixed string
-- instruction is one record per operand per execution, with the size of
-- one element (as inscount counts it once); gathers and scatters, whose
-- addresses are per lane, are not recorded, nor are accesses through gs.
-- An operand read and written (`add [m], r`) is a load then a store. An
-- instruction that faults is recorded (the record is made before it runs).
--
-- How: one clean call before each accessing instruction, per memory
-- operand, compiled inline (docs/lua-api.md, "Compiled handlers"). For the
-- summary, the call adds one to the access's site counter (a lurk.counters
-- cell; the site's pc, size and direction are known when the block is
-- translated, so loads, stores, bytes and pcs are sums over sites at exit)
-- and one to its cache line's count in a lurk.hash (pages are lines >> 6);
-- an operand read and written (`add [m], r`) is one call for its two
-- sites.
-- For trace files, it appends (pc, address, info) to a lurk.buffer: the
-- block stores three words, and no Lua runs until a thread's buffer (64K
-- records) is full.
local M = {}

local format, floor = string.format, math.floor
local log = lurk.log
local band = bit.band
local memrec = require "lurk.memrec"

local function group(n)
  local s = format("%d", n)
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

local function symbol(pc)
  local s = lurk.sym(pc, false)
  if not s then return "" end
  if s.name then return format("%s+0x%x in %s", s.name, s.offset, s.module) end
  return "in " .. s.module
end

-- dump=FILE: print a binary trace as text and stop.
local function dump(path)
  local f = assert(io.open(path, "rb"))
  assert(f:read(8) == "LURKMT1\n", "memtrace: " .. path .. " is not a memtrace trace")
  local ffi = require "ffi"
  local out = {}
  while true do
    local h = f:read(16)
    if not h or #h < 16 then break end
    local hp = ffi.cast("const uint32_t *", h)
    local tid, n = hp[1], tonumber(ffi.cast("const uint64_t *", h)[1])
    local body = f:read(24 * n)
    local r = ffi.cast("const int64_t *", body)
    for i = 0, n - 1 do
      local info = tonumber(r[3 * i + 2])
      out[#out + 1] = format("%d %x %s %d %x", tid, tonumber(r[3 * i]), band(info, 0x10000) ~= 0 and "W" or "R",
                             band(info, 0xffff), tonumber(r[3 * i + 1]))
      if #out >= 4096 then print(table.concat(out, "\n")); out = {} end
    end
  end
  if #out > 0 then print(table.concat(out, "\n")) end
  f:close()
end

function M.start(...)
  local top, main, trace, text = 10, false, nil, nil
  for i = 1, select("#", ...) do
    local a = select(i, ...)
    if a == "main" then main = true
    elseif a:match("^top=%d+$") then top = tonumber(a:match("%d+"))
    elseif a:match("^trace=.") then trace = a:match("^trace=(.*)")
    elseif a:match("^text=.") then text = a:match("^text=(.*)")
    elseif a:match("^dump=.") then return dump(a:match("^dump=(.*)"))
    elseif a ~= "" then error(format("memtrace: unknown option '%s' (main, top=N, trace=FILE, text=FILE, dump=FILE)", a), 2) end
  end
  local loads, stores, bytes = 0, 0, 0
  local lines, nlines, pages, npages = {}, 0, {}, 0
  local bypc = {}
  local out, ffi
  local pid = lurk.pid()
  if trace or text then
    local path = (trace or text):gsub("%%p", tostring(pid))
    out = assert(io.open(path, "wb"))
    if trace then out:write("LURKMT1\n") end
    ffi = require "ffi"
  end
  local hdr = ffi and ffi.new("uint32_t[4]")
  local summary -- the summary mode's totals, at exit
  local function batch(r, n, tid)
    if trace then
      hdr[0], hdr[1] = 0x3142544d, tid
      ffi.cast("uint64_t *", hdr)[1] = n
      out:write(ffi.string(hdr, 16), ffi.string(r, 24 * n))
    end
    local t = text and {}
    for i = 0, n - 1 do
      local pc, ea, info = tonumber(r[3 * i]), tonumber(r[3 * i + 1]), tonumber(r[3 * i + 2])
      local size = info % 65536
      if info >= 65536 then stores = stores + 1 else loads = loads + 1 end
      bytes = bytes + size
      local l = floor(ea / 64)
      if not lines[l] then lines[l] = true; nlines = nlines + 1 end
      local pg = floor(ea / 4096)
      if not pages[pg] then pages[pg] = true; npages = npages + 1 end
      bypc[pc] = (bypc[pc] or 0) + 1
      if t then t[#t + 1] = format("%d %x %s %d %x", tid, pc, info >= 65536 and "W" or "R", size, ea) end
    end
    if t and #t > 0 then out:write(table.concat(t, "\n"), "\n") end
  end
  local function wanted(bb)
    if not main then return true end
    local m = lurk.module_at(bb.pc)
    return m and m.main
  end
  if out then
    local buf = assert(lurk.buffer(3, batch, 65536))
    local function access(ctx, pc, ea, info) buf(pc, ea, info) end
    lurk.on("bb", function(bb) if wanted(bb) then memrec.instrument(bb, access) end end)
  else
    -- the summary: a counter per site (a hash past NSITES sites), a hash
    -- of lines; a site is a (pc, info) pair, the same when its block is
    -- translated again
    local NSITES = 2 ^ 19
    local sites = assert(lurk.counters(NSITES))
    local more = assert(lurk.hash())
    local lh = assert(lurk.hash(2 ^ 16))
    local site_pc, site_info, site_of, nsites = {}, {}, {}, 0
    local shr = lurk.shr
    local function access(ctx, ea, site)
      local l = shr(ea, 6)
      lh[l] = lh[l] + 1
      sites[site] = sites[site] + 1
    end
    local function access_more(ctx, ea, site)
      local l = shr(ea, 6)
      lh[l] = lh[l] + 1
      more[site] = more[site] + 1
    end
    -- an operand read and written (add [m], r): one call for both sites
    -- (the same address; the line hash only tells lines apart)
    local function access2(ctx, ea, site, site2)
      local l = shr(ea, 6)
      lh[l] = lh[l] + 1
      sites[site] = sites[site] + 1
      sites[site2] = sites[site2] + 1
    end
    -- site_of[pc]: the id of the pc's first site; its other sites (movs,
    -- a push of memory: one pc, two infos) in site_more[pc][info]. No
    -- table per pc: on a large program (cc1) blocks are built all along,
    -- and a table for each accessing pc kept the collector busy.
    local site_more = {}
    local function site(pc, info)
      local id = site_of[pc]
      if id and site_info[id] == info then return id end
      if id then
        local byinfo = site_more[pc]
        if not byinfo then byinfo = {}; site_more[pc] = byinfo end
        id = byinfo[info]
        if id then return id end
        nsites = nsites + 1
        id, byinfo[info] = nsites, nsites
      else
        nsites = nsites + 1
        id, site_of[pc] = nsites, nsites
      end
      site_pc[id], site_info[id] = pc, info
      return id
    end
    lurk.on("bb", function(bb)
      if not wanted(bb) then return end
      local pi, pea, pid -- a load not yet placed: its store may follow
      local function flush()
        if pi then bb:call_before(pi, pid <= NSITES and access or access_more, pea, pid) end
        pi = nil
      end
      memrec.each(bb, function(i, ea, info)
        local id = site(bb[i].pc, info)
        if pi == i and pea == ea and info >= 65536 and pid <= NSITES and id <= NSITES then
          bb:call_before(i, access2, ea, pid, id)
          pi = nil
          return
        end
        flush()
        if info < 65536 then pi, pea, pid = i, ea, id
        else bb:call_before(i, id <= NSITES and access or access_more, ea, id) end
      end)
      flush()
    end)
    summary = function()
      local extra = more:totable()
      for i = 1, nsites do
        local n, info, pc = i <= NSITES and sites[i] or extra[i] or 0, site_info[i], site_pc[i]
        if n > 0 then
          if info >= 65536 then stores = stores + n else loads = loads + n end
          bytes = bytes + n * (info % 65536)
          bypc[pc] = (bypc[pc] or 0) + n
        end
      end
      local lt = lh:totable()
      for l in pairs(lt) do
        nlines = nlines + 1
        local pg = floor(l / 64)
        if not pages[pg] then pages[pg] = true; npages = npages + 1 end
      end
    end
  end
  lurk.on("exit", function()
    if out then out:close() end
    if summary then summary() end
    local n = loads + stores
    log("memtrace: %s accesses: %s loads, %s stores, %s bytes", group(n), group(loads), group(stores), group(bytes))
    log("memtrace: %s distinct cache lines (64 B), %s distinct pages (4 KiB)", group(nlines), group(npages))
    local pcs = {}
    for pc in pairs(bypc) do pcs[#pcs + 1] = pc end
    table.sort(pcs, function(a, b) if bypc[a] ~= bypc[b] then return bypc[a] > bypc[b] end return a < b end)
    if top > 0 and #pcs > 0 then
      log("memtrace: top %d pcs by accesses:", math.min(top, #pcs))
      for i = 1, math.min(top, #pcs) do
        log("memtrace: %12s %6.2f%%  0x%x  %s", group(bypc[pcs[i]]), 100 * bypc[pcs[i]] / n, pcs[i], symbol(pcs[i]))
      end
    end
  end)
end

return M
