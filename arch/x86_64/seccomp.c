/* lurk: the app's seccomp filters (x86-64).
** A filter is per thread in the kernel and sees every system call the
** thread makes, lurk's own included (its rt_sigprocmask around signal
** delivery, process_vm_readv for code fetches, mmap for the cache...). So
** lurk installs the app's filter behind a prefix that lets through every
** call whose instruction pointer is not one of the two places where lurk
** makes the app's calls (lurk_sys_app6, lurk_clone): the app's filter then
** judges exactly the app's calls, as natively, and lurk keeps working
** (docs/decisions.md, "seccomp"). The one difference the app can see: a
** filter that looks at seccomp_data.instruction_pointer sees lurk's
** address, not the app's.
*/
#include <stddef.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include "../arch.h"
#include "syscall.h"
#include "../../engine/log.h"
#include "../../engine/mem.h"

#define SCF_PREFIX 8
#define SCF_IP_LO offsetof(struct seccomp_data, instruction_pointer)
#define SCF_IP_HI (SCF_IP_LO + 4)

extern const uint8_t lurk_sys_app_done[], lurk_clone_done[];

/* Fill the prefix: app-call sites go on to the app's filter (with A and
** X zeroed, as at a filter's start), everything else is allowed. */
static int scf_prefix(struct sock_filter *f)
{
  uint64_t a = (uint64_t)(uintptr_t)lurk_sys_app_done, c = (uint64_t)(uintptr_t)lurk_clone_done;
  if ((a >> 32) != (c >> 32)) return 0;
  struct sock_filter p[SCF_PREFIX] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SCF_IP_HI),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(a >> 32), 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SCF_IP_LO),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)a, 2, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)c, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_LD | BPF_IMM, 0),
    BPF_STMT(BPF_LDX | BPF_IMM, 0),
  };
  lurk_memcpy(f, p, sizeof p);
  return 1;
}

uint64_t arch_seccomp_filter(struct arch_mctx *m, int argi)
{
  struct sock_fprog prog;
  uint64_t uprog = ARCH_SC_ARG(m, argi);
  /* What the kernel refuses anyway (an unreadable, empty or too long
  ** filter) is its to refuse, with its errno and in its order (flags
  ** first: libseccomp probes them with a null filter). */
  if (arch_copy_in(&prog, uprog, sizeof prog) || prog.len == 0 || prog.len > BPF_MAXINSNS)
    return arch_syscall_app(m);
  size_t n = (size_t)prog.len + SCF_PREFIX;
  if (n > BPF_MAXINSNS) {
    static int warned;
    if (!warned++)
      LOG(LOG_WARN, "lurk: a seccomp filter of %u instructions has no room for lurk's prefix: "
                    "it also filters lurk's own system calls\n", prog.len);
    return arch_syscall_app(m);
  }
  size_t bytes = n * sizeof(struct sock_filter);
  struct sock_filter *f = mem_alloc(bytes);
  uint64_t r;
  if (arch_copy_in(f + SCF_PREFIX, (uint64_t)(uintptr_t)prog.filter, (size_t)prog.len * sizeof *f) ||
      !scf_prefix(f)) {
    r = arch_syscall_app(m);
  } else {
    struct sock_fprog mine = { (unsigned short)n, f };
    struct arch_mctx c = *m;
    ARCH_SC_ARG(&c, argi) = (uint64_t)(uintptr_t)&mine;
    r = arch_syscall_app(&c);
  }
  mem_free(f, bytes);
  return r;
}

int arch_seccomp_site(uint64_t pc)
{
  if (pc == (uint64_t)(uintptr_t)lurk_sys_app_done) return 1;
  if (pc == (uint64_t)(uintptr_t)lurk_clone_done) return 2;
  return 0;
}
