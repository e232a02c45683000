/* lurk: engine/util.c unit test (ctest unit.util): lurk_memcpy and
** lurk_memset against a byte-by-byte reference for every length 0..80 at
** every source and destination alignment 0..7, bytes around the
** destination untouched; lurk_memcpy with the destination below an
** overlapping source (a forward copy) as well.
*/
#include <stdio.h>
#include <string.h>
#include "../../engine/lurk.h"

#include "check.h"

#define BUF 128

static void fill(unsigned char *b, unsigned seed)
{
  for (unsigned i = 0; i < BUF; i++) b[i] = (unsigned char)(seed * 131 + i * 7 + 1);
}

int main(void)
{
  unsigned char src[BUF], dst[BUF], ref[BUF];
  for (size_t n = 0; n <= 80; n++)
    for (unsigned sa = 0; sa < 8; sa++)
      for (unsigned da = 0; da < 8; da++) {
        fill(src, 1);
        fill(dst, 2);
        memcpy(ref, dst, BUF);
        for (size_t i = 0; i < n; i++) ref[16 + da + i] = src[8 + sa + i];
        void *r = lurk_memcpy(dst + 16 + da, src + 8 + sa, n);
        CHECK(r == dst + 16 + da, "memcpy n=%zu: returned %p", n, r);
        CHECK(!memcmp(dst, ref, BUF), "memcpy n=%zu sa=%u da=%u", n, sa, da);
        fill(dst, 3);
        memcpy(ref, dst, BUF);
        memset(ref + 16 + da, 0xa5, n);
        lurk_memset(dst + 16 + da, 0xa5, n);
        CHECK(!memcmp(dst, ref, BUF), "memset n=%zu da=%u", n, da);
      }
  /* Forward overlap: destination below the source. */
  for (size_t n = 0; n <= 80; n++)
    for (unsigned gap = 1; gap <= 9; gap++) {
      fill(dst, 4);
      memcpy(ref, dst, BUF);
      memmove(ref + 8, ref + 8 + gap, n);
      lurk_memcpy(dst + 8, dst + 8 + gap, n);
      CHECK(!memcmp(dst, ref, BUF), "overlap n=%zu gap=%u", n, gap);
    }
  printf("util_test: %d checks, %d failed\n", checks, fails);
  return fails != 0;
}
