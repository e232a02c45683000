/* lurk: engine/shadow.c unit test (ctest unit.shadow): states set and read
** back byte by byte against a plain reference array, edges of shadow
** bytes and pages, the shared special pages (counted, seen in
** /proc/self/maps as shared mappings), private copies on partial writes,
** memory given back, shadow_check/shadow_find; a reader never sees a
** byte that stays defined go unaddressable while another thread turns its
** shadow page from shared to private and back (readers take no lock; a
** fresh private page reads as noaccess until it is filled).
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../engine/shadow.h"

#include "check.h"

/* A reference model over a window of app addresses. */
#define WIN (1u << 20)
static unsigned char ref[WIN];
static uint64_t base;

static void set_both(uint64_t off, uint64_t n, unsigned s)
{
  shadow_set(base + off, n, s);
  memset(ref + off, (int)s, n);
}

static void compare(const char *what)
{
  for (uint64_t i = 0; i < WIN; i++)
    if (shadow_get(base + i) != ref[i]) {
      CHECK(0, "%s: byte +0x%lx is %u, want %u", what, (unsigned long)i, shadow_get(base + i), ref[i]);
      return;
    }
  checks++;
}

/* Shared mappings inside the shadow, from /proc/self/maps. */
static int shared_maps(void)
{
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    char perm[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) == 3 && lo >= SHADOW_OFFSET && hi <= SHADOW_END &&
        perm[3] == 's')
      n++;
  }
  fclose(f);
  return n;
}

static long rss_kb(void)
{
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
  fclose(f);
  return kb;
}

/* -- Readers during changes ---------------------------------------------------- */

#define RACE_AT 0x5c0000000000ULL   /* 16 KiB of app: one shadow page */
#define RACE_ROUNDS 20000
static volatile int race_done;
static long race_seen;              /* reads of the steady byte that were not defined */

/* Read the bytes at RACE_AT + 8, defined all along, until told to stop
** (get and check: the readers memcheck uses). */
static void *race_reader(void *arg)
{
  (void)arg;
  long bad = 0;
  while (!__atomic_load_n(&race_done, __ATOMIC_ACQUIRE)) {
    if (shadow_get(RACE_AT + 8) != SHADOW_DEFINED) bad++;
    if (shadow_check(RACE_AT + 8, 8, NULL) != 8) bad++;
  }
  race_seen = bad;
  return NULL;
}

/* The page of RACE_AT goes shared (all defined), then private (one byte
** elsewhere noaccess: a private copy), then shared again, RACE_ROUNDS
** times, with a reader on another thread. */
static void race_check(void)
{
  shadow_set(RACE_AT, 4 * SHADOW_PAGE, SHADOW_DEFINED);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, race_reader, NULL) == 0, "reader thread");
  for (int i = 0; i < RACE_ROUNDS; i++) {
    shadow_set(RACE_AT, 4 * SHADOW_PAGE, SHADOW_DEFINED);
    shadow_set(RACE_AT + 4096 + (uint64_t)(i % 64) * 4, 1, (unsigned)(i & 1 ? SHADOW_NOACCESS : SHADOW_PARTIAL));
  }
  __atomic_store_n(&race_done, 1, __ATOMIC_RELEASE);
  pthread_join(t, NULL);
  CHECK(race_seen == 0, "a defined byte read as not defined %ld times while its page changed", race_seen);
  shadow_set(RACE_AT, 4 * SHADOW_PAGE, SHADOW_NOACCESS);
}

int main(void)
{
  CHECK(shadow_get(0x1000) == SHADOW_NOACCESS, "before init");
  CHECK(shadow_init() == LURK_OK, "init");
  CHECK(shadow_init() == LURK_OK, "init twice");
  CHECK(SHADOW_ADDR(0x7ffffffffff0ULL) < (uint8_t *)(uintptr_t)SHADOW_END, "layout");
  CHECK(SHADOW_ADDR(0) == (uint8_t *)(uintptr_t)SHADOW_OFFSET, "layout");

  /* a window aligned to a shadow page, in a region nobody uses */
  base = 0x5a0000000000ULL;
  compare("fresh");

  /* every alignment of head/tail within shadow bytes */
  srand(7);
  for (int i = 0; i < 3000; i++) {
    uint64_t off = (uint64_t)rand() % (WIN - 64);
    uint64_t n = (uint64_t)rand() % 40;
    set_both(off, n, (unsigned)rand() % 4);
  }
  compare("small ranges");

  /* large ranges spanning whole shadow pages: special pages */
  shadow_stats st0, st1, st2;
  shadow_get_stats(&st0);
  int maps0 = shared_maps();
  set_both(3, WIN - 7, SHADOW_DEFINED);
  compare("large defined");
  shadow_get_stats(&st1);
  uint64_t whole = (WIN / 4 / SHADOW_PAGE) - 2; /* head and tail pages are partial */
  CHECK(st1.special_pages - st0.special_pages >= whole, "special pages %lu -> %lu, want +%lu",
        (unsigned long)st0.special_pages, (unsigned long)st1.special_pages, (unsigned long)whole);
  CHECK(shared_maps() > maps0, "shared mappings %d -> %d", maps0, shared_maps());

  /* 64 MiB of app defined costs no shadow memory */
  long r0 = rss_kb();
  shadow_set(0x5b0000000000ULL, 64u << 20, SHADOW_DEFINED);
  long r1 = rss_kb();
  CHECK(r1 - r0 < 1024, "64 MiB defined grew RSS by %ld kB", r1 - r0);
  CHECK(shadow_get(0x5b0000000000ULL + (37u << 20)) == SHADOW_DEFINED, "big defined");
  CHECK(shadow_get(0x5b0000000000ULL + (64u << 20)) == SHADOW_NOACCESS, "after big");

  /* a partial write into a special page makes a private copy */
  set_both(WIN / 2 + 1, 5, SHADOW_NOACCESS);
  set_both(WIN / 2 + 100, 1, SHADOW_UNDEFINED);
  compare("partial write into special");
  shadow_get_stats(&st2);
  CHECK(st2.private_pages > st1.private_pages, "private copies %lu", (unsigned long)st2.private_pages);
  CHECK(st2.special_pages == st1.special_pages + (64u << 20) / 4 / SHADOW_PAGE - 1,
        "special pages %lu", (unsigned long)st2.special_pages);

  /* undefined and partial over whole pages, then noaccess back */
  set_both(0, WIN, SHADOW_UNDEFINED);
  compare("undefined");
  set_both(4096, 200000, SHADOW_PARTIAL);
  compare("partial");
  set_both(0, WIN, SHADOW_NOACCESS);
  compare("noaccess");
  shadow_stats st3;
  shadow_get_stats(&st3);
  CHECK(st3.special_pages == (64u << 20) / 4 / SHADOW_PAGE, "specials left %lu", (unsigned long)st3.special_pages);
  long r2 = rss_kb();
  shadow_set(0x5b0000000000ULL, 64u << 20, SHADOW_NOACCESS);
  shadow_get_stats(&st3);
  CHECK(st3.special_pages == 0, "specials after noaccess %lu", (unsigned long)st3.special_pages);
  CHECK(rss_kb() <= r2, "noaccess gave memory back");

  /* check and find */
  set_both(1000, 100, SHADOW_DEFINED);
  set_both(1050, 3, SHADOW_NOACCESS);
  uint64_t bad;
  CHECK(shadow_check(base + 1000, 50, &bad) == 50 && bad == base + 1050, "check all good");
  CHECK(shadow_check(base + 1000, 60, &bad) == 57 && bad == base + 1050, "check %lu bad +%lu",
        (unsigned long)shadow_check(base + 1000, 60, NULL), (unsigned long)(bad - base));
  CHECK(shadow_check(base + 990, 4, &bad) == 0 && bad == base + 990, "check none");
  CHECK(shadow_find(base, WIN, 1) == base + 1000, "find addressable %lx", (unsigned long)(shadow_find(base, WIN, 1) - base));
  CHECK(shadow_find(base + 1000, 100, 0) == base + 1050, "find noaccess");
  CHECK(shadow_find(base + 1053, 47, 0) == base + 1100, "find none");
  CHECK(shadow_find(base + 2000, WIN - 4000, 1) == base + WIN - 2000, "find none, long");

  /* the ends of the address space */
  shadow_set(SHADOW_APP_END - 8, 100, SHADOW_DEFINED);
  CHECK(shadow_get(SHADOW_APP_END - 1) == SHADOW_DEFINED, "top byte");
  CHECK(shadow_get(SHADOW_APP_END) == SHADOW_NOACCESS, "past the top");
  CHECK(shadow_check(SHADOW_APP_END - 4, 8, &bad) == 4 && bad == SHADOW_APP_END, "check past the top");
  shadow_set(0, 3, SHADOW_DEFINED);
  CHECK(shadow_get(0) == SHADOW_DEFINED && shadow_get(2) == SHADOW_DEFINED && shadow_get(3) == 0, "bottom");

  race_check();

  printf("shadow_test: %d checks, %d failed\n", checks, fails);
  return fails != 0;
}
