/* An endless tree of busy children (spec/semu_spec.lua, the watchdog): every
** process forks one child, then spins. */
#include <unistd.h>
int main(void){
  for (int depth = 0;; depth++) {
    pid_t p = fork();
    if (p != 0) { volatile unsigned long x = 0; for (;;) x++; }
  }
}
