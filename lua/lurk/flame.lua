--- lurk.flame: a self-contained SVG flame graph from folded stacks, in
-- the look of Brendan Gregg's flamegraph.pl (a browser opens it: hover a
-- frame for its name and count, click to zoom in, "Reset Zoom" or a click
-- on the root to zoom out; no external file, script or font).
--
--   local flame = require "lurk.flame"
--   local folded = require "lurk.folded"
--   local st = folded.new()
--   st:add({ "main", "parse" }, 30) st:add({ "main", "run", "work" }, 70)
--   assert(flame.svg(st, "profile.svg", { title = "python3 -c ...", count = "samples" }))
--
-- profile.svg shows a bottom bar "all" (100 samples), "main" above it,
-- "parse" (30%) and "run" (70%) side by side above that, and "work" on top
-- of "run". The input may be a lurk.folded set, folded text (as written by
-- lurk.folded or stackcollapse scripts), or a table { ["a;b;c"] = n }.
--
-- Layout as flamegraph.pl: x is the share of the total (siblings sorted by
-- name, so the same stacks always give the same picture), y the depth
-- (the root at the bottom; `inverted = true` draws an icicle graph, root
-- on top); frames narrower than `minwidth` pixels (default 0.1) are left
-- out; colors come from a hash of the name in the "hot" palette, so a
-- function has the same color everywhere. Names are XML-escaped and made
-- valid UTF-8 (lurk.json.utf8_clean), control characters become spaces.
--
-- opts: title (default "Flame Graph"), width (1200), frame height (16),
-- count (the unit's name, default "samples"), inverted, minwidth.
local M = {}

local json = require "lurk.json"
local folded = require "lurk.folded"

local format, byte, sub, gsub, concat, sort = string.format, string.byte, string.sub,
  string.gsub, table.concat, table.sort
local floor = math.floor

local function argerr(n, fname, msg)
  error(format("bad argument #%d to '%s' (%s)", n, fname, msg), 3)
end

local XML = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;" }

--- s escaped for XML text and attributes (and made valid UTF-8).
function M.xml(s)
  s = json.utf8_clean(tostring(s))
  s = gsub(s, "%c", " ")
  return (gsub(s, "[&<>\"']", XML))
end
local xml = M.xml

-- The stacks as a lurk.folded set, from any accepted input.
local function stacks_of(input)
  if folded.is(input) then return input end
  if type(input) == "string" then
    local st, err = folded.parse(input)
    if not st then return nil, err end
    return st
  end
  if type(input) == "table" then
    local st = folded.new()
    for k, n in pairs(input) do
      if type(k) ~= "string" or type(n) ~= "number" then
        return nil, "a table of stacks maps strings to numbers"
      end
      st:add_key(k, n)
    end
    return st
  end
  return nil, "folded stacks expected, got " .. type(input)
end

-- A tree of nodes { name, value, kids = { name -> node } }.
local function tree(st)
  local root = { name = "all", value = 0, kids = {} }
  for key, n in pairs(st.counts) do
    if n > 0 then
      root.value = root.value + n
      local node = root
      for f in (key .. ";"):gmatch("([^;]*);") do
        local kid = node.kids[f]
        if not kid then kid = { name = f, value = 0, kids = {} } node.kids[f] = kid end
        kid.value = kid.value + n
        node = kid
      end
    end
  end
  return root
end

-- flamegraph.pl's "hot" palette, from a hash of the name.
local function color(name)
  local h1, h2, h3 = 0, 0, 0
  for i = 1, #name do
    local c = byte(name, i)
    h1 = (h1 * 31 + c) % 1000003
    h2 = (h2 * 17 + c * 7) % 999983
    h3 = (h3 * 13 + c * 3) % 999979
  end
  local v1, v2, v3 = (h1 % 1000) / 1000, (h2 % 1000) / 1000, (h3 % 1000) / 1000
  return format("rgb(%d,%d,%d)", 205 + floor(50 * v3), floor(230 * v1), floor(55 * v2))
end

local CHAR = 12 * 0.59 -- the width of a character at font size 12

-- The frame's label: the name cut to fit w pixels ("" when too narrow).
local function label(name, w)
  local fit = floor((w - 6) / CHAR)
  if fit < 3 then return "" end
  if #name <= fit then return name end
  local cut = sub(name, 1, fit - 2)
  -- do not cut a UTF-8 sequence in the middle
  while #cut > 0 and byte(cut, #cut) >= 0x80 and byte(cut, #cut) < 0xC0 do cut = sub(cut, 1, -2) end
  if #cut > 0 and byte(cut, #cut) >= 0xC0 then cut = sub(cut, 1, -2) end
  return cut .. ".."
end

local function numtext(n)
  if n == floor(n) then return format("%.0f", n) end
  return format("%.6g", n)
end

local SCRIPT = [[
var frames, details, unzoomBtn, W, PAD;
function init(evt) {
  frames = document.getElementById("frames");
  details = document.getElementById("details").firstChild;
  unzoomBtn = document.getElementById("unzoom");
  W = +document.documentElement.getAttribute("width"); PAD = 10;
  frames.addEventListener("click", function (e) {
    var g = e.target.closest ? e.target.closest("g.f") : e.target.parentNode;
    if (g && g.getAttribute("class") == "f") zoom(g);
  });
  frames.addEventListener("mouseover", function (e) {
    var g = e.target.parentNode;
    if (g && g.getAttribute("class") == "f") details.nodeValue = g.firstChild.firstChild.nodeValue;
  });
  frames.addEventListener("mouseout", function () { details.nodeValue = " "; });
  unzoomBtn.addEventListener("click", function () { zoom(null); });
}
function fit(g, x, w) {
  var r = g.getElementsByTagName("rect")[0], t = g.getElementsByTagName("text")[0];
  r.setAttribute("x", x); r.setAttribute("width", w);
  t.setAttribute("x", x + 3);
  var name = g.getAttribute("data-name"), n = Math.floor((w - 6) / ]] .. CHAR .. [[);
  t.textContent = n < 3 ? "" : (name.length <= n ? name : name.substring(0, n - 2) + "..");
}
function zoom(z) {
  var zx = 0, zw = 1, zd = -1, all = frames.getElementsByTagName("g");
  if (z) { zx = +z.getAttribute("data-x"); zw = +z.getAttribute("data-w"); zd = +z.getAttribute("data-d"); }
  unzoomBtn.setAttribute("class", z && zw < 1 ? "" : "hide");
  for (var i = 0; i < all.length; i++) {
    var g = all[i], x = +g.getAttribute("data-x"), w = +g.getAttribute("data-w"), d = +g.getAttribute("data-d");
    var inside = x >= zx - 1e-12 && x + w <= zx + zw + 1e-12;
    var below = d < zd && x <= zx + 1e-12 && x + w >= zx + zw - 1e-12;
    if (below) { fit(g, PAD, W - 2 * PAD); g.style.opacity = 0.5; g.style.display = ""; }
    else if (inside) { fit(g, PAD + (x - zx) / zw * (W - 2 * PAD), w / zw * (W - 2 * PAD)); g.style.opacity = ""; g.style.display = ""; }
    else { g.style.display = "none"; }
  }
}
]]

--- The SVG text of the flame graph of input (see above); nil and a
-- message when input is not folded stacks.
function M.render(input, opts)
  if opts ~= nil and type(opts) ~= "table" then argerr(2, "render", "table expected, got " .. type(opts)) end
  opts = opts or {}
  local st, err = stacks_of(input)
  if not st then return nil, err end
  local W = opts.width or 1200
  local FH = opts.height or 16
  local minwidth = opts.minwidth or 0.1
  local unit = opts.count or "samples"
  local title = opts.title or "Flame Graph"
  local PAD, TOP, BOTTOM = 10, 12 * 3, 12 * 2 + 10
  local root = tree(st)
  local total = root.value
  local frames, maxdepth = {}, 0
  local inner = W - 2 * PAD
  -- collect the frames: { name, x (share), w (share), depth, value }
  local function walk(node, x, depth)
    local w = total > 0 and node.value / total or 1
    if w * inner < minwidth then return end
    frames[#frames + 1] = { name = node.name, x = x, w = w, d = depth, value = node.value }
    if depth > maxdepth then maxdepth = depth end
    local names = {}
    for name in pairs(node.kids) do names[#names + 1] = name end
    sort(names)
    local cx = x
    for _, name in ipairs(names) do
      local kid = node.kids[name]
      walk(kid, cx, depth + 1)
      cx = cx + (total > 0 and kid.value / total or 0)
    end
  end
  walk(root, 0, 0)
  local H = (maxdepth + 1) * FH + TOP + BOTTOM
  local out = {}
  local function add(s) out[#out + 1] = s end
  add('<?xml version="1.0" standalone="no"?>\n')
  add('<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n')
  add(format('<svg version="1.1" width="%d" height="%d" onload="init(evt)" viewBox="0 0 %d %d" '
    .. 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">\n', W, H, W, H))
  add('<!-- Flame graph written by lurk (lua/lurk/flame.lua), in the manner of flamegraph.pl. -->\n')
  add('<defs><linearGradient id="background" y1="0" y2="1" x1="0" x2="0">'
    .. '<stop stop-color="#eeeeee" offset="5%"/><stop stop-color="#eeeeb0" offset="95%"/>'
    .. '</linearGradient></defs>\n')
  add('<style type="text/css">text { font-family: Verdana, sans-serif; font-size: 12px; fill: rgb(0,0,0); }\n'
    .. '#title { text-anchor: middle; font-size: 17px; } .hide { display: none; }\n'
    .. 'g.f:hover rect { stroke: black; stroke-width: 0.5; } g.f { cursor: pointer; }\n'
    .. '#unzoom { cursor: pointer; }</style>\n')
  add('<script type="text/ecmascript"><![CDATA[' .. SCRIPT .. ']]></script>\n')
  add(format('<rect x="0" y="0" width="%d" height="%d" fill="url(#background)"/>\n', W, H))
  add(format('<text id="title" x="%d" y="24">%s</text>\n', W / 2, xml(title)))
  add(format('<text id="details" x="%d" y="%d"> </text>\n', PAD, H - 17))
  add(format('<text id="unzoom" class="hide" x="%d" y="24">Reset Zoom</text>\n', PAD))
  add('<g id="frames">\n')
  for _, f in ipairs(frames) do
    local x, w = PAD + f.x * inner, f.w * inner
    local y
    if opts.inverted then y = TOP + f.d * FH else y = H - BOTTOM - (f.d + 1) * FH end
    local name = xml(f.name)
    local pct = total > 0 and 100 * f.value / total or 0
    add(format('<g class="f" data-name="%s" data-x="%.17g" data-w="%.17g" data-d="%d">'
      .. '<title>%s (%s %s, %.2f%%)</title>'
      .. '<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" rx="2" ry="2"/>'
      .. '<text x="%.1f" y="%.1f">%s</text></g>\n',
      name, f.x, f.w, f.d, name, numtext(f.value), xml(unit), pct,
      x, y, w, FH - 1, f.d == 0 and "rgb(240,200,160)" or color(f.name),
      x + 3, y + FH - 5, xml(label(json.utf8_clean(f.name), w))))
  end
  add("</g>\n</svg>\n")
  return concat(out)
end

--- Write the flame graph of input to file (a file name, truncated, or an
-- open file). Returns true, or nil and a message.
function M.svg(input, file, opts)
  if file == nil then argerr(2, "svg", "file name or file expected, got nil") end
  local text, err = M.render(input, opts)
  if not text then return nil, err end
  if type(file) == "string" then
    local f, ferr = io.open(file, "w")
    if not f then return nil, ferr end
    f:write(text)
    f:close()
    return true
  end
  file:write(text)
  return true
end

return M
