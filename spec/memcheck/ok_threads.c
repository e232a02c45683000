/* No bug: four threads allocating, filling and freeing blocks. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
static void *work(void *arg)
{
  long id = (long)arg, s = 0;
  for (int i = 0; i < 2000; i++) {
    size_t n = 1 + (i * 37 + id) % 300;
    unsigned char *p = malloc(n);
    memset(p, (int)id, n);
    s += p[n - 1];
    free(p);
  }
  return (void *)s;
}
int main(void)
{
  pthread_t t[4];
  for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, work, (void *)i);
  long sum = 0;
  for (int i = 0; i < 4; i++) { void *r; pthread_join(t[i], &r); sum += (long)r; }
  printf("%ld\n", sum);
  return 0;
}
