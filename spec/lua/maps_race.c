/* Two threads each map a region (PROT_NONE, then read-write), write and
** read it, and unmap it, ROUNDS times (argv[1], default 3000): the kernel
** often gives one thread the range the other has just unmapped. Prints the
** sum of what was read (the same in every run). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#define LEN (68 * 1024)
static int rounds = 3000;
static void *churn(void *arg)
{
  long id = (long)arg, s = 0;
  for (int i = 0; i < rounds; i++) {
    char *p = mmap(NULL, LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || mprotect(p, LEN, PROT_READ | PROT_WRITE)) return (void *)-1;
    for (int k = 0; k < 8; k++) p[(i * 4099 + k * 8191) % LEN] = (char)id;
    s += p[(i * 4099) % LEN];
    munmap(p, LEN);
  }
  return (void *)s;
}
int main(int argc, char **argv)
{
  if (argc > 1) rounds = atoi(argv[1]);
  pthread_t t[2];
  for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, churn, (void *)(i + 1));
  long sum = 0;
  for (int i = 0; i < 2; i++) { void *r; pthread_join(t[i], &r); sum += (long)r; }
  printf("%ld\n", sum);
  return 0;
}
