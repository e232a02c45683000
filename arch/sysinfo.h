/* lurk: system calls by number, in arch-neutral terms.
** Numbers are the arch's (the table is arch/<arch>/sysnames.h); what the
** engine and the Lua bindings see is a name, the kind of each argument and
** the kind of the result, enough for a tool to decode a call (strace.lua).
*/
#ifndef LURK_ARCH_SYSINFO_H
#define LURK_ARCH_SYSINFO_H
#include "../engine/lurk.h"

/* Argument and result kinds: one letter each in the table's signatures,
** and a name Lua sees (lurk.syscall(x).args). ORDER SYSKIND */
#define SYSKINDDEF(_)                                                          \
  _('d', int)         /* signed integer (an int: 32 bits) */                   \
  _('l', long)        /* signed 64-bit integer (offsets, lengths) */           \
  _('u', uint)        /* unsigned integer */                                   \
  _('x', hex)         /* a number best shown in hex (masks, ioctl requests) */ \
  _('o', mode)        /* file mode bits, shown in octal */                     \
  _('p', ptr)         /* an address (a struct, an output not decoded) */       \
  _('f', fd)          /* a file descriptor */                                  \
  _('a', dirfd)       /* a directory fd or AT_FDCWD */                         \
  _('s', path)        /* a NUL-terminated string read by the kernel */         \
  _('b', buf)         /* bytes read by the kernel; length in the next arg */   \
  _('B', outbuf)      /* bytes written by the kernel; length is the result */  \
  _('z', size)        /* a byte count */                                       \
  _('O', open_flags)  /* O_* */                                                \
  _('P', prot)        /* PROT_* */                                             \
  _('M', mmap_flags)  /* MAP_* */                                              \
  _('C', clone_flags) /* CLONE_* and the exit signal */                        \
  _('S', signal)      /* a signal number */                                    \
  _('A', access_mode) /* F_OK or R_OK|W_OK|X_OK */                             \
  _('W', whence)      /* SEEK_* */                                             \
  _('F', fcntl_cmd)   /* F_* */                                                \
  _('X', at_flags)    /* AT_* */                                               \
  _('H', sigmask_how) /* SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK */                \
  _('R', arch_prctl)  /* ARCH_* */                                             \
  _('K', futex_op)    /* FUTEX_* */                                            \
  _('V', strings)     /* a NULL-terminated array of strings (argv, envp) */    \
  _('?', none)        /* no result: the call does not return */

enum sys_kind {
#define SYSKIND_ENUM(c, name) SYS_K_##name,
  SYSKINDDEF(SYSKIND_ENUM)
#undef SYSKIND_ENUM
  SYS_K__MAX
};

/* One system call. args: one kind letter per argument (the call's count). */
struct sysinfo {
  int nr;
  const char *name;
  char ret;           /* kind letter of the result */
  const char *args;
};

/* The call numbered nr, or NULL for a number the arch does not have. */
const struct sysinfo *sysinfo_get(long nr);
/* The call named name, or NULL. */
const struct sysinfo *sysinfo_find(const char *name);
/* The name of a kind letter ("fd", "path", ...), or NULL. */
const char *sysinfo_kind_name(char kind);
/* One more than the highest number the table knows. */
extern const int sysinfo_max;

#endif
