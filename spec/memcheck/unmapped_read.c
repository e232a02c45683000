/* One bug: reads a page after munmap (natively a crash: SIGSEGV). */
#include <sys/mman.h>
#include <stdio.h>
int main(void)
{
  char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  p[100] = 1;
  munmap(p, 8192);
  fflush(stdout);
  return *(volatile char *)(p + 100); /* memcheck: unaddressable */
}
