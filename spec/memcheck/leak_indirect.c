/* One bug: a lost list head (definitely lost) whose nodes are indirectly
** lost (reported in the summary only, as memcheck does). */
#include <stdlib.h>
#include <stdio.h>
struct node { struct node *next; long v[3]; };
static struct node *volatile head;
static struct node *mk(struct node *next)
{
  struct node *n = malloc(sizeof *n); /* memcheck: leak-definite */
  n->next = next;
  return n;
}
int main(void)
{
  struct node *l = NULL;
  for (int i = 0; i < 4; i++) l = mk(l);
  head = l;
  printf("%d\n", head->next != NULL);
  head = NULL;
  return 0;
}
