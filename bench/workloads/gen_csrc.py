#!/usr/bin/python3
"""Generate a large, realistic-looking C translation unit for the cc1 benchmark.

Deterministic: uses its own LCG (never Python's random/hash), so the output
is byte-identical for every Python 3 version.  The result is meant to be run
through `gcc -E` (it includes a handful of libc headers) and then compiled
with `cc1 -O2`.

Usage: gen_csrc.py NFUNCS > big.c
"""
import sys

state = 20240229


def rnd(n):
    global state
    state = (state * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
    return (state >> 33) % n


TYPES = ["int", "long", "unsigned", "double", "size_t", "uint32_t", "int64_t"]
OPS = ["+", "-", "*", "^", "|", "&"]


def expr(vars_, depth=0):
    k = rnd(7)
    if depth > 2 or k < 2:
        return rnd(2) and vars_[rnd(len(vars_))] or "%dL" % (rnd(1000) + 1)
    if k == 2:
        return "(%s %s %s)" % (expr(vars_, depth + 1), OPS[rnd(len(OPS))], expr(vars_, depth + 1))
    if k == 3:
        return "(%s > %s ? %s : %s)" % (expr(vars_, depth + 1), expr(vars_, depth + 1),
                                        expr(vars_, depth + 1), expr(vars_, depth + 1))
    if k == 4:
        return "(%s << %d)" % (expr(vars_, depth + 1), rnd(7))
    if k == 5:
        return "helper_%d(%s)" % (rnd(16), expr(vars_, depth + 1))
    return "(%s %% %d)" % (expr(vars_, depth + 1), rnd(97) + 3)


def stmt(out, vars_, ind, depth, fidx):
    k = rnd(10)
    pad = "    " * ind
    v = vars_[rnd(len(vars_))]
    if depth >= 2 or k < 3:
        out.append("%s%s = %s;" % (pad, v, expr(vars_)))
    elif k == 3:
        out.append("%sfor (int i%d = 0; i%d < n; i%d++) {" % (pad, depth, depth, depth))
        out.append("%s    buf[i%d & 63] += %s;" % (pad, depth, expr(vars_)))
        stmt(out, vars_, ind + 1, depth + 1, fidx)
        out.append("%s}" % pad)
    elif k == 4:
        out.append("%sif (%s > %s) {" % (pad, expr(vars_), expr(vars_)))
        stmt(out, vars_, ind + 1, depth + 1, fidx)
        out.append("%s} else {" % pad)
        stmt(out, vars_, ind + 1, depth + 1, fidx)
        out.append("%s}" % pad)
    elif k == 5:
        out.append("%sswitch ((%s) & 7) {" % (pad, v))
        for c in range(rnd(5) + 2):
            out.append("%scase %d:" % (pad, c))
            stmt(out, vars_, ind + 1, depth + 1, fidx)
            out.append("%s    break;" % pad)
        out.append("%sdefault:" % pad)
        out.append("%s    %s ^= %d;" % (pad, v, rnd(255)))
        out.append("%s}" % pad)
    elif k == 6:
        out.append("%swhile (%s > %d && n-- > 0) {" % (pad, v, rnd(50)))
        out.append("%s    %s = %s / 2 + (%s);" % (pad, v, v, expr(vars_)))
        out.append("%s}" % pad)
    elif k == 7:
        out.append("%sp->count += (int)(%s);" % (pad, expr(vars_)))
        out.append("%sp->name[%d] = (char)('a' + (%s) %% 26);" % (pad, rnd(32), v))
        out.append("%sp->weight = p->weight * 0.5 + (double)(%s);" % (pad, v))
    elif k == 8:
        out.append("%ssnprintf(p->name, sizeof p->name, \"f%d-%%d\", (int)%s);" % (pad, fidx, v))
        out.append("%s%s += (long)strlen(p->name) + (long)memcmp(p->name, \"f%d\", 2);" % (pad, v, fidx))
    else:
        if fidx > 0:
            out.append("%s%s += func_%d(p, buf, n / 2);" % (pad, v, rnd(fidx)))
        else:
            out.append("%s%s += %d;" % (pad, v, rnd(9)))


def light_struct(out, f):
    """A struct with accessors -- cheap, typical 'glue' code."""
    fields = ["f%d" % j for j in range(3 + rnd(6))]
    out.append("struct obj_%d {" % f)
    for j, fl in enumerate(fields):
        out.append("    %s %s;" % (["int", "long", "unsigned", "short", "double"][j % 5], fl))
    out.append("    struct obj_%d *next;" % f)
    out.append("};")
    for j, fl in enumerate(fields):
        t = ["int", "long", "unsigned", "short", "double"][j % 5]
        out.append("static %s obj_%d_get_%s(const struct obj_%d *o) { return o ? o->%s : 0; }"
                   % (t, f, fl, f, fl))
        out.append("static void obj_%d_set_%s(struct obj_%d *o, %s v) { if (o) o->%s = v; }"
                   % (f, fl, f, t, fl))
    out.append("long func_%d(struct rec *p, long *buf, long n)" % f)
    out.append("{")
    out.append("    struct obj_%d *head = NULL, *o;" % f)
    out.append("    long sum = 0;")
    out.append("    for (long i = 0; i < (n & 15); i++) {")
    out.append("        o = calloc(1, sizeof *o);")
    out.append("        if (!o) return -1;")
    for fl in fields:
        out.append("        obj_%d_set_%s(o, buf[(i + %d) & 63]);" % (f, fl, rnd(64)))
    out.append("        o->next = head; head = o;")
    out.append("    }")
    out.append("    while (head) {")
    out.append("        o = head->next;")
    out.append("        sum += (long)obj_%d_get_%s(head);" % (f, fields[rnd(len(fields))]))
    out.append("        free(head); head = o;")
    out.append("    }")
    out.append("    p->count += (int)sum;")
    out.append("    return sum;")
    out.append("}")
    out.append("")


def light_table(out, f):
    """A static table and a binary search over it."""
    vals = sorted(set(rnd(100000) for _ in range(48)))
    out.append("static const int table_%d[%d] = {" % (f, len(vals)))
    for i in range(0, len(vals), 8):
        out.append("    " + ", ".join(str(v) for v in vals[i:i + 8]) + ",")
    out.append("};")
    out.append("long func_%d(struct rec *p, long *buf, long n)" % f)
    out.append("{")
    out.append("    long key = (buf[%d] + n) %% 100000, lo = 0, hi = %d;" % (rnd(64), len(vals)))
    out.append("    while (lo < hi) {")
    out.append("        long mid = (lo + hi) / 2;")
    out.append("        if (table_%d[mid] < key) lo = mid + 1; else hi = mid;" % f)
    out.append("    }")
    out.append("    p->weight += lo;")
    out.append("    return lo < %d ? table_%d[lo] : -1;" % (len(vals), f))
    out.append("}")
    out.append("")


def light_parse(out, f):
    """A little tokenizer over p->name."""
    out.append("long func_%d(struct rec *p, long *buf, long n)" % f)
    out.append("{")
    out.append("    const char *s = p->name;")
    out.append("    long num = 0, words = 0, digits = 0;")
    out.append("    (void)buf; (void)n;")
    out.append("    while (*s) {")
    out.append("        if (isdigit((unsigned char)*s)) {")
    out.append("            num = num * 10 + (*s - '0'); digits++;")
    out.append("        } else if (isalpha((unsigned char)*s)) {")
    out.append("            words++;")
    out.append("            while (isalnum((unsigned char)*s) || *s == '_') s++;")
    out.append("            continue;")
    out.append("        } else if (*s == '%c') {" % "+-*/,;"[rnd(6)])
    out.append("            num = -num;")
    out.append("        }")
    out.append("        s++;")
    out.append("    }")
    out.append("    return num * %d + words * %d + digits;" % (rnd(10) + 1, rnd(10) + 1))
    out.append("}")
    out.append("")


def main():
    nfuncs = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    out = []
    out.append("/* generated by bench/workloads/gen_csrc.py -- do not edit */")
    for h in ["stdio.h", "stdlib.h", "string.h", "stdint.h", "math.h", "ctype.h"]:
        out.append("#include <%s>" % h)
    out.append("")
    out.append("struct rec { int count; double weight; char name[40]; struct rec *next; };")
    out.append("typedef long (*op_fn)(struct rec *, long *, long);")
    for i in range(16):
        body = ["x * %d + %d" % (rnd(31) + 1, rnd(1000)), "x ^ (x >> %d)" % (rnd(13) + 1),
                "(x << 3) - x + %d" % rnd(100), "x / %d + x %% %d" % (rnd(9) + 2, rnd(9) + 2)][rnd(4)]
        out.append("static inline long helper_%d(long x) { return %s; }" % (i, body))
    out.append("")
    for f in range(nfuncs):
        kind = rnd(8)
        if kind == 0:
            light_struct(out, f)
            continue
        if kind == 1:
            light_table(out, f)
            continue
        if kind == 2:
            light_parse(out, f)
            continue
        nv = 3 + rnd(4)
        vars_ = ["v%d" % j for j in range(nv)]
        out.append("long func_%d(struct rec *p, long *buf, long n)" % f)
        out.append("{")
        for j, v in enumerate(vars_):
            out.append("    long %s = buf[%d] + %d;" % (v, j, rnd(100)))
        if rnd(4) == 0:
            out.append("    double d = sqrt((double)(v0 * v0 + 1)) * %d.5;" % rnd(10))
            out.append("    v1 += (long)floor(d);")
        for _ in range(3 + rnd(6)):
            stmt(out, vars_, 1, 0, f)
        out.append("    return %s;" % " + ".join(vars_))
        out.append("}")
        out.append("")
    out.append("static const op_fn table[] = {")
    for f in range(0, nfuncs, 7):
        out.append("    func_%d," % f)
    out.append("};")
    out.append("")
    out.append("int main(int argc, char **argv)")
    out.append("{")
    out.append("    struct rec r; long buf[64]; long acc = 0;")
    out.append("    memset(&r, 0, sizeof r); memset(buf, 0, sizeof buf);")
    out.append("    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)")
    out.append("        acc += table[i](&r, buf, argc + 3);")
    out.append("    printf(\"%ld %s\\n\", acc, argv[0]);")
    out.append("    return 0;")
    out.append("}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
