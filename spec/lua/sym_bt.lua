-- Print the call stack at the first execution of TARGET+OFF (lurk.addr
-- syntax; OFF decimal), one FRAME line per frame:
--   FRAME <i> <name|-> <file|-> <line|0> <alias...>
-- where alias k is "1" when lurk.addr(NAME_k) (names given after OFF, one
-- per frame, "-" for none) is the address of frame i's symbol.
-- Used by spec/sym_gdb_spec.lua.
local target_name, off = ...
local names = { select(3, ...) }
off = tonumber(off)
local target, done
lurk.on("bb", function(bb)
  -- (from the first instruction, ld.so's blocks come before the library
  -- that holds TARGET is mapped: looked up until it is)
  if not target then
    local a = lurk.addr(target_name)
    if not a then return end
    target = a + off
  end
  for i = 1, #bb do
    if bb[i].pc == target then
      bb:call_before(i, function(ctx)
        if done then return end
        done = true
        local pcs, exact = ctx:backtrace()
        for k, pc in ipairs(pcs) do
          -- a return address: its call is the instruction before it
          local s = lurk.sym(exact[k] and pc or pc - 1) or {}
          local alias = "0"
          local want = names[k]
          if s.name and want and want ~= "-" then
            local a = lurk.addr(want)
            if a and a == s.addr then alias = "1" end
          end
          print(string.format("FRAME\t%d\t%s\t%s\t%d\t%s", k, s.name or "-", s.file or "-", s.line or 0, alias))
        end
      end)
    end
  end
end)
