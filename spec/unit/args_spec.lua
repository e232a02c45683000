-- lua/lurk/args.lua in the specs' Lua (pure Lua, no engine): a tool's
-- options, and the messages for bad ones.
local h = require "spec.util.helper"
h.lualib()
local args = require "lurk.args"

local KINDS = { hz = { "count", 1000, min = 1 }, top = { "count", 20 }, svg = { "string" }, threads = { "flag" } }

local function err(argv, other)
  local ok, e = pcall(args.parse, "tool", argv, KINDS, other)
  assert.is_false(ok)
  return e
end

describe("lurk.args.parse", function()
  it("fills in defaults", function()
    assert.same({ hz = 1000, top = 20 }, args.parse("tool", {}, KINDS))
  end)

  it("takes --name VALUE, --name=VALUE and --flag, in any order", function()
    assert.same({ hz = 99, top = 0, svg = "a=b.svg", threads = true },
      args.parse("tool", { "--threads", "--hz", "99", "--svg=a=b.svg", "--top=0" }, KINDS))
  end)

  it("says what is wrong, naming the tool and the options it knows", function()
    assert.equal("tool: unknown option '--x' (--hz N, --svg V, --threads, --top N)", err({ "--x" }))
    assert.equal("tool: unknown option 'word' (--hz N, --svg V, --threads, --top N)", err({ "word" }))
    assert.equal("tool: option '--hz' needs a whole number >= 1 (got '0')", err({ "--hz", "0" }))
    assert.equal("tool: option '--top' needs a whole number >= 0 (got '1.5')", err({ "--top=1.5" }))
    assert.equal("tool: option '--svg' needs a value", err({ "--svg" }))
    assert.equal("tool: option '--threads' takes no value", err({ "--threads=1" }))
  end)

  it("lets the tool take words of its own", function()
    local o = args.parse("tool", { "json=f", "--hz", "5" }, KINDS, function(w, opts)
      if w:match("^json") then opts.json = w return true end
    end)
    assert.same({ hz = 5, top = 20, json = "json=f" }, o)
    assert.equal("tool: unknown option 'other' (--hz N, --svg V, --threads, --top N)",
      err({ "other" }, function() return false end))
  end)
end)
