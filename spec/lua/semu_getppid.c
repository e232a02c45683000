/* 1000 getppid and 10 getpid system calls: spec/semu_spec.lua's filter test. */
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
  for (int i = 0; i < 1000; i++) syscall(SYS_getppid);
  for (int i = 0; i < 10; i++) syscall(SYS_getpid);
  return 0;
}
