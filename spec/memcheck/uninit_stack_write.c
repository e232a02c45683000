/* A stack buffer passed to write() before it is filled. */
#include <string.h>
#include <unistd.h>
static void emit(void) {
  char buf[32];
  buf[0] = 'z';
  buf[1] = '\n';
  write(1, buf, sizeof buf); /* memcheck: uninit-syscall */
}
int main(void) {
  emit();
  return 0;
}
