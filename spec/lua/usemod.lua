local m = require "specmod"
local again = require "specmod"
local report = require "lurk.report"
print("twice", m.twice(21), m == again, m.loaded_as, package.loaded.specmod == m)
report.top({ mov = 3, call = 1 }, nil, "mnemonic")
local ok, err = pcall(require, "no.such.module")
print("missing", ok, (err:match("module 'no.such.module' not found")) ~= nil,
      (err:match("no file '[^']*/no/such/module%.lua'")) ~= nil)
