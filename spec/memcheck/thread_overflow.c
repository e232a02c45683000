/* One bug, in a second thread: writes past a block the thread allocated. */
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
static void *work(void *arg)
{
  int n = *(int *)arg;
  short *p = malloc(n * sizeof *p); /* alloc */
  for (int i = 0; i < n; i++) p[i] = (short)i;
  p[n] = 1; /* memcheck: heap-overflow */
  free(p);
  return NULL;
}
int main(void)
{
  pthread_t t;
  int n = 6;
  pthread_create(&t, NULL, work, &n);
  pthread_join(t, NULL);
  puts("joined");
  return 0;
}
