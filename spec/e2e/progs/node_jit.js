// Run by the node_jit case as `node --allow-natives-syntax -e "$(cat node_jit.js)"`:
// a hot numeric kernel and a hot object/array kernel, run long enough
// (~1 s natively) for V8's tiers up to the optimizing compiler (TurboFan,
// on its own thread) to compile them as they run; the results are printed.
// When exactly V8 tiers up is timing-dependent, so no optimization status of
// that phase is printed; at the end one more function is optimized on
// request (synchronously, so deterministically) and its status printed.
function mix(n, seed) {
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s ^ (s >>> 15), 2246822519) + i) >>> 0;
    s = (s ^ (s << 7)) >>> 0;
  }
  return s;
}
function points(n) {
  const a = [];
  for (let i = 0; i < n; i++) a.push({ x: i % 97, y: (i * 31) % 89 });
  let d = 0;
  for (const p of a) d += Math.sqrt(p.x * p.x + p.y * p.y);
  return Math.round(d);
}
let h = 0, p = 0;
for (let r = 0; r < 2400; r++) {
  h = (h + mix(150000, r)) % 1000000007;
  p += points(2000 + r);
}
console.log(`mix ${h}, points ${p}`);
function poly(x) { return ((x * 3 + 1) * x - 7) * x; }
%PrepareFunctionForOptimization(poly);
poly(1.5); poly(2.5);
%OptimizeFunctionOnNextCall(poly);
const v = poly(3.5);
console.log(`poly(3.5) = ${v}, TurboFan-optimized on request: ${(%GetOptimizationStatus(poly) & 16) !== 0}`);
