/* One bug: reads a field of a freed struct. */
#include <stdlib.h>
#include <stdio.h>
struct node { int key; struct node *next; };
int main(void)
{
  struct node *n = malloc(sizeof *n); /* alloc */
  n->key = 7;
  n->next = NULL;
  free(n);
  printf("%d\n", n->key == 7); /* memcheck: use-after-free */
  return 0;
}
