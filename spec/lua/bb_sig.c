/* bb_sig.c: timer signals (SIGALRM every 50 us) landing while clean calls
** run in a loop that reads its own flags with pushfq; prints the trips
** made, and whether the loop or the handler ever saw the trap flag
** (spec/bb_spec.lua). Built -no-pie.
*/
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <ucontext.h>

long t_spin(long n);

/* n trips; returns the sum of TF (0x100) the loop saw in its own flags */
asm(".intel_syntax noprefix\n"
    ".globl t_spin\n"
    "t_spin: xor eax, eax\n"
    "t_spin_body: pushfq\n"
    "t_spin_pop: pop rdx\n"
    "  and edx, 0x100\n"
    "t_spin_add: add rax, rdx\n"
    "  dec rdi\n"
    "  jnz t_spin_body\n"
    "  ret\n"
    ".att_syntax prefix\n");

static volatile long alarms, handler_tf;

static void on_alarm(int sig, siginfo_t *si, void *ucv)
{
  ucontext_t *uc = ucv;
  (void)sig, (void)si;
  alarms++;
  if (uc->uc_mcontext.gregs[REG_EFL] & 0x100) handler_tf++;
}

int main(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_alarm;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = { { 0, 50 }, { 0, 50 } };
  setitimer(ITIMER_REAL, &it, NULL);
  long trips = 0, tf = 0;
  while (alarms < 200) {
    tf += t_spin(1000);
    trips += 1000;
  }
  memset(&it, 0, sizeof it);
  setitimer(ITIMER_REAL, &it, NULL);
  printf("trips %ld\n", trips);
  printf("loop tf %ld handler tf %ld\n", tf, handler_tf);
  return 0;
}
