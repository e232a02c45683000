// CFLAGS: -O2 -lm
/* x87 floating point: long double (80-bit) arithmetic and libm functions,
 * raw x87 instructions (fsin, fcos, fpatan, fyl2x, f2xm1, fprem, fsqrt,
 * fbstp), the x87 control word (rounding modes, precision control), the
 * status word, and deep use of the 8-entry register stack. */
#include <stdio.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static void show(const char *name, long double v)
{
    unsigned char b[10];
    memcpy(b, &v, 10);
    printf("%-12s %.21Lg  [", name, v);
    for (int i = 9; i >= 0; i--) printf("%02x", b[i]);
    printf("]\n");
}

static uint16_t get_cw(void) { uint16_t cw; __asm__ volatile("fnstcw %0" : "=m"(cw)); return cw; }
static void set_cw(uint16_t cw) { __asm__ volatile("fldcw %0" : : "m"(cw)); }

int main(void)
{
    long double x = 1.0L / 3.0L, y = 2.0L;
    show("1/3", x);
    show("sqrtl(2)", sqrtl(y));
    show("expl(1)", expl(1.0L));
    show("logl(10)", logl(10.0L));
    show("sinl(1e6)", sinl(1e6L));
    show("powl", powl(1.0000001L, 1e7L));
    show("tgammal(7.5)", tgammal(7.5L));
    show("atan2l", atan2l(1.0L, -3.0L));
    show("fmodl", fmodl(1e30L, 7.0L));

    long double r;
    __asm__("fsin" : "=t"(r) : "0"(0.5L));                 show("fsin(.5)", r);
    __asm__("fcos" : "=t"(r) : "0"(0.5L));                 show("fcos(.5)", r);
    __asm__("fsqrt" : "=t"(r) : "0"(3.0L));                show("fsqrt(3)", r);
    __asm__("fpatan" : "=t"(r) : "0"(1.0L), "u"(2.0L) : "st(1)"); show("fpatan", r);
    __asm__("fyl2x" : "=t"(r) : "0"(8.0L), "u"(3.0L) : "st(1)");  show("fyl2x", r);
    __asm__("f2xm1" : "=t"(r) : "0"(0.5L));                show("f2xm1(.5)", r);
    __asm__("fldpi" : "=t"(r));                            show("fldpi", r);
    __asm__("fldl2e" : "=t"(r));                           show("fldl2e", r);
    long double num = 100.5L, den = 3.0L;
    __asm__("1: fprem\n\t fnstsw %%ax\n\t test $0x400, %%ax\n\t jnz 1b" : "=t"(r) : "0"(num), "u"(den) : "ax", "cc");
    show("fprem", r);
    unsigned char bcd[10];
    __asm__ volatile("fbstp %0" : "=m"(bcd) : "t"(123456789012345678.0L) : "st");
    printf("fbstp:      ");
    for (int i = 9; i >= 0; i--) printf("%02x", bcd[i]);
    printf("\n");

    /* rounding modes through the control word */
    uint16_t cw = get_cw();
    printf("control word 0x%04x\n", cw);
    static const char *modes[] = { "nearest", "down", "up", "zero" };
    for (int m = 0; m < 4; m++) {
        set_cw((uint16_t)((cw & ~0x0c00) | (m << 10)));
        long double a = 10.0L, b = 3.0L, q;
        __asm__("fdivrp" : "=t"(q) : "0"(b), "u"(a) : "st(1)");
        long long ri;
        __asm__("fistpll %0" : "=m"(ri) : "t"(-2.5L) : "st");
        printf("%-8s 10/3=%.21Lg rint(-2.5)=%lld\n", modes[m], q, ri);
    }
    /* precision control: 24-bit mantissa */
    set_cw((uint16_t)(cw & ~0x0300));
    long double p24;
    __asm__("fdivrp" : "=t"(p24) : "0"(3.0L), "u"(1.0L) : "st(1)");
    set_cw(cw);
    show("1/3 (PC=24)", p24);
    printf("control word restored 0x%04x\n", get_cw());

    /* use the whole register stack */
    long double s = 0;
    for (int i = 1; i <= 2000; i++) {
        long double t = (long double)i;
        s += (t * t + 1.0L / t) / (t + 0.5L) - sqrtl(t) * logl(t + 1.0L) + cosl(t) * sinl(t / 3.0L);
    }
    show("series", s);
    return 0;
}
