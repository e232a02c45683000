/* stepcount PROG ARGS...: run PROG natively under ptrace, single-stepping
** from its first instruction (the interpreter's entry, or a static
** program's) to its exit, and print the number of instructions executed,
** counting a rep-prefixed string instruction once per execution (the
** single-step trap comes after every iteration: a step that leaves rip
** where it was is one more iteration of the same execution). The exact
** count lurk's inscount must equal under --early (spec/early_spec.lua).
** Under some hypervisors (Firecracker's KVM, for one) the trap after an
** emulated cpuid comes one instruction late: a step from a cpuid that does
** not stop right after it ran two instructions.
** Single-threaded programs only; signals are passed on. Exit: the
** program's status, or 125 on a ptrace error. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: stepcount PROG ARGS...\n");
    return 125;
  }
  pid_t pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    execv(argv[1], argv + 1);
    perror(argv[1]);
    _exit(127);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) { /* the exec's SIGTRAP */
    fprintf(stderr, "stepcount: %s did not start\n", argv[1]);
    return 125;
  }
  ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_EXITKILL);
  uint64_t n = 0, prev = 0;
  int sig = 0;
  for (;;) {
    struct user_regs_struct r;
    if (ptrace(PTRACE_GETREGS, pid, 0, &r)) { perror("stepcount: GETREGS"); return 125; }
    prev = r.rip;
    errno = 0;
    long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)prev, 0);
    int cpuid = errno == 0 && (word & 0xffff) == 0xa20f;
    if (ptrace(PTRACE_SINGLESTEP, pid, 0, sig)) { perror("stepcount: SINGLESTEP"); return 125; }
    sig = 0;
    if (waitpid(pid, &st, 0) != pid) { perror("stepcount: waitpid"); return 125; }
    if (WIFEXITED(st) || WIFSIGNALED(st)) { n++; break; }
    if (WSTOPSIG(st) != SIGTRAP) { sig = WSTOPSIG(st); continue; } /* delivered at the next step */
    if (ptrace(PTRACE_GETREGS, pid, 0, &r)) { perror("stepcount: GETREGS"); return 125; }
    if (r.rip != prev) n++;
    if (cpuid && r.rip != prev + 2) n++;
  }
  printf("stepcount: %llu instructions\n", (unsigned long long)n);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
