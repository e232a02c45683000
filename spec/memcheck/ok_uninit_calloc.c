/* calloc's memory is defined; so is what read() and fstat() fill in. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
  int *p = calloc(100, sizeof *p);
  int n = 0;
  for (int i = 0; i < 100; i++) if (p[i] == 0) n++;
  char *buf = malloc(64);
  int fd = open("/proc/self/stat", O_RDONLY);
  ssize_t r = read(fd, buf, 64);
  if (r > 0 && buf[0] >= '0' && buf[0] <= '9') n++;
  struct stat *st = malloc(sizeof *st);
  if (fstat(fd, st) == 0 && st->st_size == 0) n++;
  close(fd);
  printf("%d\n", n);
  free(p);
  free(buf);
  free(st);
  return 0;
}
