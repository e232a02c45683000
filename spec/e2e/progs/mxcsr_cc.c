/* e2e: the app's MXCSR across made clean calls (progs/cc_every.lua puts
** one before every instruction of this program). A rounding mode other
** than the default (toward zero) shows in the quotients, the sticky
** exception flags the divisions set show in the MXCSR printed after. The
** engine reloads the saved MXCSR after each call (on AMD without reading
** it back first: context.S lurk_cc_post). */
#include <stdio.h>
#include <xmmintrin.h>

int main(void)
{
  static const unsigned modes[] = { 0x1f80, 0x7f80, 0x3f80, 0x5f80, 0x9fc0 };
  for (unsigned k = 0; k < sizeof modes / sizeof modes[0]; k++) {
    _mm_setcsr(modes[k]);
    volatile double x = 1.0, y = 7.0;
    for (int i = 0; i < 200; i++) x = x / 3.0 + y / 11.0;
    unsigned m = _mm_getcsr();
    _mm_setcsr(0x1f80);
    printf("mode %04x: x %.17g, mxcsr after %04x\n", modes[k], x, m);
  }
  return 0;
}
