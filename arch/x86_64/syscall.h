/* lurk: raw Linux system calls for x86-64.
** Engine code never goes through libc for a syscall: these wrappers return
** -errno in rax and leave the app's errno (libc TLS) alone, as musl's
** __syscall does.
*/
#ifndef LURK_ARCH_SYSCALL_H
#define LURK_ARCH_SYSCALL_H

#include <stdint.h>
#include <sys/syscall.h>

typedef long sys_word;

static inline sys_word
sys_call6(long nr, sys_word a1, sys_word a2, sys_word a3, sys_word a4,
          sys_word a5, sys_word a6)
{
  sys_word ret;
  register sys_word r10 __asm__("r10") = a4;
  register sys_word r8 __asm__("r8") = a5;
  register sys_word r9 __asm__("r9") = a6;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8),
                     "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

#define sys_call0(nr) sys_call6((nr), 0, 0, 0, 0, 0, 0)
#define sys_call1(nr, a) sys_call6((nr), (sys_word)(a), 0, 0, 0, 0, 0)
#define sys_call2(nr, a, b) \
  sys_call6((nr), (sys_word)(a), (sys_word)(b), 0, 0, 0, 0)
#define sys_call3(nr, a, b, c) \
  sys_call6((nr), (sys_word)(a), (sys_word)(b), (sys_word)(c), 0, 0, 0)
#define sys_call4(nr, a, b, c, d) \
  sys_call6((nr), (sys_word)(a), (sys_word)(b), (sys_word)(c), \
            (sys_word)(d), 0, 0)

/* Is a raw return value an error (-4095..-1)? */
#define SYS_FAILED(r) ((unsigned long)(r) > -4096UL)

#define sys_write(fd, p, n) sys_call3(SYS_write, (fd), (p), (n))
#define sys_read(fd, p, n) sys_call3(SYS_read, (fd), (p), (n))
#define sys_close(fd) sys_call1(SYS_close, (fd))
#define sys_openat(dfd, path, fl, mode) \
  sys_call4(SYS_openat, (dfd), (path), (fl), (mode))
#define sys_mmap(a, n, prot, fl, fd, off) \
  sys_call6(SYS_mmap, (sys_word)(a), (sys_word)(n), (prot), (fl), (fd), (off))
#define sys_munmap(a, n) sys_call2(SYS_munmap, (a), (n))
#define sys_mprotect(a, n, p) sys_call3(SYS_mprotect, (a), (n), (p))
#define sys_getpid() sys_call0(SYS_getpid)
#define sys_gettid() sys_call0(SYS_gettid)
#define sys_exit_group(c) sys_call1(SYS_exit_group, (c))
#define sys_kill(p, s) sys_call2(SYS_kill, (p), (s))
#define sys_fcntl(fd, c, a) sys_call3(SYS_fcntl, (fd), (c), (a))

#endif
