/* lurk: hashed counter tables (lurk.hash), the memory compiled code adds
** to. A table is open addressing with linear probing and no wrap-around:
** slots of {key, count}, a key's home is hc_tab_home(key), and a key sits
** at its home or after it (in the tail past the last home when needed).
** Compiled code looks at the home slot and the one after and adds there on
** a match (arch/<arch>/hc.c); anything else is hc_tab_add's, which inserts,
** probes further, and grows the table to keep it a quarter full. A key it
** finds (or puts) further than the two probes trades places with the one
** after its home: a key added to often stays where compiled code finds it.
**
** Which slots are used is kept in a byte array beside the slots, for this
** file only: compiled code needs no "empty" key, because an empty slot
** holds a key that can never be looked for there (0, whose home is 0, in
** every slot but 0 and 1; there a key whose home is 2 or more).
*/
#include "hc.h"
#include "mem.h"

#define HC_TAB_TAIL 64     /* slots past the last home */
#define HC_TAB_MIN 256     /* smallest table, in homes */

struct hc_tab {
  uint64_t size;           /* homes: a power of 2 */
  uint64_t n;              /* keys */
  uint8_t *used;           /* size + HC_TAB_TAIL bytes */
  uint64_t pad[5];         /* the slots start 64 bytes in */
  struct hc_slot slots[];
};

static struct hc_tab *hc_tab_of(uint64_t base) { return (struct hc_tab *)(base - sizeof(struct hc_tab)); }

/* The home of key in a table of size homes. */
static uint64_t hc_tab_home(uint64_t key, uint64_t size)
{
  return ((key * HC_HASH_MUL) >> HC_HASH_SHIFT >> 4) & (size - 1);
}

static size_t hc_tab_bytes(uint64_t size) { return sizeof(struct hc_tab) + (size + HC_TAB_TAIL) * sizeof(struct hc_slot); }

/* A table of at least `want` homes, empty. */
static struct hc_tab *hc_tab_alloc(uint64_t want)
{
  uint64_t size = HC_TAB_MIN;
  while (size < want) size *= 2;
  struct hc_tab *t = mem_alloc(hc_tab_bytes(size));
  t->size = size;
  t->used = mem_alloc(size + HC_TAB_TAIL);
  /* slots 0 and 1 are probed by keys whose home is 0 (and 1): their empty
  ** key is one whose home is further on */
  uint64_t e = 1;
  while (hc_tab_home(e, size) < 2) e++;
  t->slots[0].key = t->slots[1].key = e;
  return t;
}

static void hc_tab_release(struct hc_tab *t)
{
  mem_free(t->used, t->size + HC_TAB_TAIL);
  mem_free(t, hc_tab_bytes(t->size));
}

uint64_t hc_tab_new(uint64_t want) { return (uint64_t)hc_tab_alloc(want)->slots; }

void hc_tab_free(uint64_t base)
{
  if (base) hc_tab_release(hc_tab_of(base));
}

uint64_t hc_tab_mask(uint64_t base) { return (hc_tab_of(base)->size - 1) << 4; }

uint64_t hc_tab_count(uint64_t base) { return base ? hc_tab_of(base)->n : 0; }

/* The slot of key in t, or the free slot it goes in (NULL: past the tail). */
static struct hc_slot *hc_tab_probe(struct hc_tab *t, uint64_t key, int *found)
{
  uint64_t end = t->size + HC_TAB_TAIL;
  for (uint64_t i = hc_tab_home(key, t->size); i < end; i++) {
    if (!t->used[i]) { *found = 0; return &t->slots[i]; }
    if (t->slots[i].key == key) { *found = 1; return &t->slots[i]; }
  }
  *found = 0;
  return NULL;
}

/* Twice the homes, every key moved (the old table freed). */
static struct hc_tab *hc_tab_grow(struct hc_tab *t)
{
  uint64_t want = t->size * 2;
  for (;;) {
    struct hc_tab *g = hc_tab_alloc(want);
    int ok = 1, found;
    for (uint64_t i = 0; i < t->size + HC_TAB_TAIL && ok; i++) {
      if (!t->used[i]) continue;
      struct hc_slot *s = hc_tab_probe(g, t->slots[i].key, &found);
      if (!s) { ok = 0; break; }
      *s = t->slots[i];
      g->used[s - g->slots] = 1;
      g->n++;
    }
    if (ok) { hc_tab_release(t); return g; }
    hc_tab_release(g); /* a run past the tail: larger still */
    want *= 2;
  }
}

/* Key, found at s past the two slots compiled code probes, changes places
** with the key after its home, so that its next adds stay inline (a key
** that collides was a clean call on every add). Linear probing allows it:
** both slots are used, and every slot from either key's home to where it
** goes is used too. */
static void hc_tab_closer(struct hc_tab *t, struct hc_slot *s, uint64_t key)
{
  struct hc_slot *near = &t->slots[hc_tab_home(key, t->size) + 1];
  if (s <= near) return;
  struct hc_slot x = *near;
  *near = *s;
  *s = x;
}

uint64_t hc_tab_add(uint64_t base, uint64_t key, int64_t add)
{
  struct hc_tab *t = hc_tab_of(base);
  int found;
  struct hc_slot *s;
  while (!(s = hc_tab_probe(t, key, &found))) t = hc_tab_grow(t);
  if (found) {
    s->count += add;
    hc_tab_closer(t, s, key);
    return (uint64_t)t->slots;
  }
  s->key = key;
  s->count = add;
  t->used[s - t->slots] = 1;
  hc_tab_closer(t, s, key);
  if (++t->n * 4 > t->size) t = hc_tab_grow(t);
  return (uint64_t)t->slots;
}

const struct hc_slot *hc_tab_find(uint64_t base, uint64_t key)
{
  if (!base) return NULL;
  int found;
  struct hc_slot *s = hc_tab_probe(hc_tab_of(base), key, &found);
  return found ? s : NULL;
}

const struct hc_slot *hc_tab_next(uint64_t base, uint64_t *i)
{
  if (!base) return NULL;
  struct hc_tab *t = hc_tab_of(base);
  for (; *i < t->size + HC_TAB_TAIL; ++*i)
    if (t->used[*i]) return &t->slots[(*i)++];
  return NULL;
}
