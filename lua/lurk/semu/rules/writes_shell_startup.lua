-- A shell start-up file is written: ~/.bashrc, ~/.profile, /etc/profile.d/...
local rules = require "lurk.semu.rules"
local NAMES = { "/%.bashrc$", "/%.bash_profile$", "/%.bash_login$", "/%.profile$", "/%.zshrc$",
                "/%.zprofile$", "/%.zshenv$", "^/etc/profile$", "^/etc/profile%.d/", "^/etc/bash%.bashrc$" }
return {
  name = "writes_shell_startup",
  description = "writes a shell start-up file",
  check = function(doc)
    local ev = {}
    for _, e in ipairs(doc.events) do
      local p = rules.written_path(e)
      if p then
        for _, pat in ipairs(NAMES) do
          if p:match(pat) then ev[#ev + 1] = e.id break end
        end
      end
    end
    return #ev > 0, ev
  end,
}
