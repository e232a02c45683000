--- lurk.semu.log: the behaviour log, one JSON document for a run, merged
-- from the records every process of the tree appended (lurk.semu.run).
-- Records (one JSON object a line, field `k`):
--   proc  a process image starts: pid, ppid, t, how (root|fork|vfork|exec), exe, argv, elf
--   ev    an event: id, t, pid, tid, call, category, args, result, error;
--         a later ev with the same id completes it (execve's result)
--   exit  the process ends: pid, t, status
--   reap  its parent waited for it: pid, t, status or signal
--   note  run facts: watchdog, nudge (merged into the document's "semu")
-- The document's shape is docs/semu.schema.json.
local M = {}

local json = require "lurk.json"
local elf = require "lurk.semu.elf"

--- The document from the records; meta: { command, start, finish, root,
-- log, options, sandbox }.
function M.build(records, meta)
  local procs, order, events, byid, exes, notes = {}, {}, {}, {}, {}, {}
  local function proc(pid)
    local p = procs[pid]
    if not p then
      p = { pid = pid, images = json.array({}) }
      procs[pid] = p
      order[#order + 1] = p
    end
    return p
  end
  for _, r in ipairs(records) do
    if r.k == "proc" then
      local p = proc(r.pid)
      if r.how ~= "exec" then p.parent, p.start, p.how = r.ppid, r.t, r.how end
      if r.how == "fork" and r.exe and not p.exe then p.exe, p.argv = r.exe, json.array(r.argv or {}) end
      if r.how == "root" or r.how == "exec" then
        p.images[#p.images + 1] = { exe = r.exe, argv = json.array(r.argv or {}), t = r.t }
        p.exe, p.argv = r.exe, json.array(r.argv or {})
        if r.exe and not exes[r.exe] then
          local f = r.elf
          if type(f) == "table" then
            f.path = r.exe
            f.needed, f.imports, f.sections = json.array(f.needed or {}), json.array(f.imports or {}),
              json.array(f.sections or {})
            exes[r.exe] = f
          else
            exes[r.exe] = { path = r.exe, error = type(f) == "string" and f or "unreadable" }
          end
          exes[#exes + 1] = exes[r.exe]
        end
      end
      if not p.start then p.start = r.t end
    elseif r.k == "ev" then
      local old = byid[r.id]
      if old then
        for k, v in pairs(r) do old[k] = v end
        old.unfinished = nil
      else
        byid[r.id] = r
        events[#events + 1] = r
      end
    elseif r.k == "exit" then
      local p = proc(r.pid)
      p["end"], p.exit = r.t, { status = r.status }
    elseif r.k == "reap" then
      local p = proc(r.pid)
      if not p.exit then
        p["end"] = p["end"] or r.t
        p.exit = r.signal and { signal = r.signal } or { status = r.status }
      end
    elseif r.k == "note" then
      notes[#notes + 1] = r
    end
  end
  -- A vfork child that never exec'd: its parent's program.
  for _, p in ipairs(order) do
    if not p.exe and p.parent and procs[p.parent] then
      p.exe, p.argv = procs[p.parent].exe, procs[p.parent].argv
    end
    p.exe = p.exe or json.null
    p.argv = p.argv or json.array({})
    p.parent = p.parent or json.null
    p.start = p.start or json.null
    if p["end"] == nil then p["end"] = json.null end
    p.exit = p.exit or json.null
    p.how = p.how or "unknown"
  end
  local evs = json.array({})
  for i, r in ipairs(events) do
    if r.unfinished then r.unfinished = nil; r.result = 0 end -- an execve that did not return
    r.k = nil
    if r.args then r.args = json.object(r.args) end
    evs[i] = r
  end
  local ex = json.array({})
  for i = 1, #exes do ex[i] = exes[i] end
  local semu = { version = 1, command = json.array(meta.command or {}), start = meta.start,
                 ["end"] = meta.finish, root = meta.root, options = json.object(meta.options or {}) }
  for _, n in ipairs(notes) do
    if n.what == "watchdog" then semu.watchdog = { timeout = n.timeout, t = n.t } end
    if n.what == "nudge" then semu.nudge = { t = n.t } end
  end
  return { semu = semu, processes = json.array(order), executables = ex, events = evs,
           sandbox = meta.sandbox and json.object(meta.sandbox) or nil,
           verdicts = json.array(meta.verdicts or {}) }
end

--- The facts of exe for a proc record: a table, or the error message.
function M.elf_facts(exe)
  local f, err = elf.facts(exe)
  return f or err
end

return M
