-- Memory that is not a file's mapping is made executable (an anonymous
-- PROT_EXEC mmap, or mprotect adding PROT_EXEC), and the call succeeded.
return {
  name = "makes_memory_executable",
  description = "makes memory executable",
  check = function(doc)
    local ev = {}
    for _, e in ipairs(doc.events) do
      if e.category == "memory" and not e.error then ev[#ev + 1] = e.id end
    end
    return #ev > 0, ev
  end,
}
