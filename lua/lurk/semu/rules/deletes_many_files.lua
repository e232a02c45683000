-- Five or more files or directories are deleted (unlink, unlinkat, rmdir that
-- succeeded, in the sandbox as whiteouts too).
local THRESHOLD = 5
return {
  name = "deletes_many_files",
  description = "deletes many files (" .. THRESHOLD .. " or more)",
  check = function(doc)
    local ev = {}
    for _, e in ipairs(doc.events) do
      if (e.call == "unlink" or e.call == "unlinkat" or e.call == "rmdir") and not e.error then
        ev[#ev + 1] = e.id
      end
    end
    return #ev >= THRESHOLD, ev
  end,
}
