/* lurk: engine/hc_tab.c unit test (ctest unit.hctab): counts against a
** reference array with keys chosen to collide (the same home), through
** inserts, repeated adds and growth; and a key that sits past the two
** slots compiled code probes (home, home + 1) is moved into them by its
** next add, so that compiled code finds it from then on.
*/
#include <stdio.h>
#include <stdlib.h>
#include "../../engine/hc.h"

#include "check.h"

#define NK 4000

/* The slot compiled code probes first for key (arch/x86_64/hc.c, HC_HADD). */
static const struct hc_slot *home_of(uint64_t base, uint64_t key)
{
  return (const struct hc_slot *)(base + (((key * HC_HASH_MUL) >> HC_HASH_SHIFT) & hc_tab_mask(base)));
}

/* Would compiled code find key (at its home or the slot after)? */
static int inline_found(uint64_t base, uint64_t key)
{
  const struct hc_slot *h = home_of(base, key);
  return h[0].key == key || h[1].key == key;
}

int main(void)
{
  static uint64_t keys[NK];
  static int64_t want[NK];
  uint64_t base = hc_tab_new(1 << 16);
  /* keys in groups of 6 with one home each (groups in the order they
  ** fill): the later ones of a group go past home + 1 */
  static uint8_t inbucket[1 << 16];
  static uint64_t bucket[1 << 16][6];
  unsigned n = 0;
  for (uint64_t k = 1; n < NK; k++) {
    unsigned h = (unsigned)((home_of(base, k) - home_of(base, 0)) & 0xffff);
    bucket[h][inbucket[h]++] = k;
    if (inbucket[h] == 6)
      for (unsigned j = 0; j < 6 && n < NK; j++) keys[n++] = bucket[h][j];
  }
  unsigned far = 0;
  for (unsigned i = 0; i < NK; i++) {
    base = hc_tab_add(base, keys[i], (int64_t)i + 1);
    want[i] = (int64_t)i + 1;
  }
  for (unsigned i = 0; i < NK; i++) far += !inline_found(base, keys[i]);
  CHECK(far > 0, "no key past the probes after the inserts (the test needs some: %u)", far);
  /* one add to each: every key that was past the probes is now in them,
  ** the one it displaced may not be; the last of each group is added to
  ** again and must then be found inline */
  for (unsigned i = 0; i < NK; i++) {
    base = hc_tab_add(base, keys[i], 3);
    want[i] += 3;
    CHECK(inline_found(base, keys[i]), "key %lx not at its home or the next after an add", (unsigned long)keys[i]);
  }
  for (unsigned i = 0; i < NK; i++) {
    const struct hc_slot *s = hc_tab_find(base, keys[i]);
    CHECK(s && s->count == want[i], "key %lx: count %ld, want %ld", (unsigned long)keys[i], s ? (long)s->count : -1L,
          (long)want[i]);
  }
  CHECK(hc_tab_count(base) == NK, "%lu keys, want %d", (unsigned long)hc_tab_count(base), NK);
  /* every key once through hc_tab_next */
  int64_t sum = 0, wsum = 0;
  unsigned seen = 0;
  const struct hc_slot *s;
  for (uint64_t i = 0; (s = hc_tab_next(base, &i));) sum += s->count, seen++;
  for (unsigned i = 0; i < NK; i++) wsum += want[i];
  CHECK(seen == NK && sum == wsum, "next: %u keys, sum %ld, want %d and %ld", seen, (long)sum, NK, (long)wsum);
  /* growth (a quarter full) keeps every count */
  for (uint64_t k = 1; k <= 100000; k++) base = hc_tab_add(base, k << 20, 1);
  for (unsigned i = 0; i < NK; i++) {
    const struct hc_slot *t = hc_tab_find(base, keys[i]);
    CHECK(t && t->count == want[i], "after growth, key %lx: count %ld, want %ld", (unsigned long)keys[i],
          t ? (long)t->count : -1L, (long)want[i]);
  }
  hc_tab_free(base);
  printf("hctab_test: %d checks, %d failed\n", checks, fails);
  return fails != 0;
}
