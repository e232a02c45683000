/* No bug: a linked list built, walked, freed; stdio on a heap buffer. */
#include <stdlib.h>
#include <stdio.h>
struct node { struct node *next; int v; };
int main(void)
{
  struct node *h = NULL;
  for (int i = 0; i < 1000; i++) {
    struct node *n = malloc(sizeof *n);
    n->v = i;
    n->next = h;
    h = n;
  }
  long s = 0;
  while (h) { struct node *n = h->next; s += h->v; free(h); h = n; }
  char *buf;
  size_t len;
  FILE *f = open_memstream(&buf, &len);
  fprintf(f, "%ld", s);
  fclose(f);
  puts(buf);
  free(buf);
  return 0;
}
