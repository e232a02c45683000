/* lurk differential fuzzer: run one generated sequence with seeded state and
 * print the full machine state at its end and at every signal it raises.
 *
 *   fz-harness BLOB SEED OUTDIR
 *
 * BLOB is gen.lua's output assembled at FZ_CODE (header, code, instruction
 * table). Every event prints the GPRs, flags, x87, MXCSR, zmm0-31, k0-7 and
 * the FNV-1a hash of the sandbox to stdout, and writes the sandbox's bytes to
 * OUTDIR/mem.N (the runner compares those to show the first differing byte).
 * A signal handler skips the faulting instruction through the blob's table.
 * Exit status: 0 done, 2 bad usage or setup, 3 a fault outside the sequence,
 * 4 too many events. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include "harness.h"

struct fz_init {
  uint64_t gpr[16], rflags, xsave, mask, entry;
};
struct fz_hdr {
  uint64_t magic, entry, n, itab, ftab;
  uint64_t fipr, nfipr;   /* (address, length) pairs: stored x87 FIPs */
};

void fz_enter(const struct fz_init *st);
void fz_exit(void);

static const char *const fz_gpr_names[16] = {
  "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
  "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"
};
/* ucontext gregs index of each GPR, in fz_gpr_names order */
static const int fz_greg[16] = {
  REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
  REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15
};

static const struct fz_hdr *fz_hdr;
static const char *fz_outdir;
static uint32_t fz_xoff[8];       /* standard-format offset of component i */
static uint64_t fz_mask;          /* FZ_XMASK & XCR0 */
static int fz_events;
static char fz_buf[16384];
static size_t fz_len;
static uint8_t fz_xinit[16384] __attribute__((aligned(64)));

/* -- Output ---------------------------------------------------------------- */

/* Append formatted text to the event buffer (no stdio: it may run in a handler). */
static void out(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(fz_buf + fz_len, sizeof fz_buf - fz_len, fmt, ap);
  va_end(ap);
  if (n > 0) fz_len += (size_t)n < sizeof fz_buf - fz_len ? (size_t)n : sizeof fz_buf - fz_len - 1;
}

/* Append NAME and n bytes as hex, most significant byte first. */
static void out_hex(const char *name, const uint8_t *p, int n)
{
  out("%s ", name);
  for (int i = n - 1; i >= 0; i--) out("%02x", p[i]);
  out("\n");
}

/* Write the buffer to stdout and empty it. */
static void flush_out(void)
{
  size_t off = 0;
  while (off < fz_len) {
    ssize_t w = write(1, fz_buf + off, fz_len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += (size_t)w;
  }
  fz_len = 0;
}

/* -- State dump ------------------------------------------------------------ */

/* Print the x87, SSE and AVX state of an xsave64 image; a component whose
 * XSTATE_BV bit is clear is in its initial state, printed as such. */
static void dump_xstate(const uint8_t *xs, uint64_t bv)
{
  static const uint8_t zero[64];
  uint16_t fcw = 0x37f, fsw = 0, fop = 0;
  uint8_t ftw = 0;
  uint64_t fip = 0, fdp = 0;
  uint32_t mxcsr;
  if (bv & 1) {
    memcpy(&fcw, xs, 2); memcpy(&fsw, xs + 2, 2); ftw = xs[4];
    memcpy(&fop, xs + 6, 2); memcpy(&fip, xs + 8, 8); memcpy(&fdp, xs + 16, 8);
  }
  memcpy(&mxcsr, xs + 24, 4);
  out("fcw %04x\nfsw %04x\nftw %02x\nfop %04x\nfip %016llx\nfdp %016llx\nmxcsr %08x\n",
      fcw, fsw, ftw, fop, (unsigned long long)fip, (unsigned long long)fdp, mxcsr);
  for (int i = 0; i < 8; i++) {
    char n[8];
    snprintf(n, sizeof n, "st%d", i);
    out_hex(n, bv & 1 ? xs + 32 + 16 * i : zero, 10);
  }
  for (int i = 0; i < 32; i++) {
    uint8_t z[64] = {0};
    if (i < 16) {
      if (bv & 2) memcpy(z, xs + 160 + 16 * i, 16);
      if ((bv & 4) && (fz_mask & 4)) memcpy(z + 16, xs + fz_xoff[2] + 16 * i, 16);
      if ((bv & 0x40) && (fz_mask & 0x40)) memcpy(z + 32, xs + fz_xoff[6] + 32 * i, 32);
    } else if ((bv & 0x80) && (fz_mask & 0x80)) {
      memcpy(z, xs + fz_xoff[7] + 64 * (i - 16), 64);
    }
    char n[8];
    snprintf(n, sizeof n, "zmm%d", i);
    out_hex(n, z, fz_mask & 0xe0 ? 64 : 32);
  }
  for (int i = 0; (fz_mask & 0x20) && i < 8; i++) {
    uint8_t k[8] = {0};
    if (bv & 0x20) memcpy(k, xs + fz_xoff[5] + 8 * i, 8);
    char n[8];
    snprintf(n, sizeof n, "k%d", i);
    out_hex(n, k, 8);
  }
}

/* Print the sandbox's hash and save its bytes to OUTDIR/mem.N. The stack
 * area below rsp's red zone is not the program's state (a signal frame or
 * a tool's clean call may use it): it is printed as zeros. */
static void dump_memory(int ev, uint64_t rsp)
{
  static uint64_t copy[FZ_SB_SIZE / 8];
  uint8_t *p = (uint8_t *)copy;
  memcpy(p, (const void *)FZ_SANDBOX, FZ_SB_SIZE);
  if (rsp >= FZ_STACK_LO + 128 && rsp <= FZ_SANDBOX + FZ_SB_SIZE) {
    memset(p + (FZ_STACK_LO - FZ_SANDBOX), 0, rsp - 128 - FZ_STACK_LO);
    /* The red zone on its own line, as 16 qwords from rsp-128 up: the
    ** runner tells a stale return address there apart (a known difference:
    ** lurk's ret rewrites the slot it returned through). */
    out("redzone");
    for (uint64_t a = rsp - 128; a < rsp; a += 8) {
      uint64_t v;
      memcpy(&v, p + (a - FZ_SANDBOX), 8);
      out(" %016llx", (unsigned long long)v);
      memset(p + (a - FZ_SANDBOX), 0, 8);
    }
    out("\n");
  }
  /* The x87 pointers (FIP, FOP, FDP) fnstenv/fnsave/fxsave64 stored: on their own line
  ** (the runner knows lurk shows its cache pc there), zeroed in the hash. */
  const uint64_t *fr = (const uint64_t *)fz_hdr->fipr;
  out("fipmem");
  for (uint64_t i = 0; i < fz_hdr->nfipr; i++) {
    uint64_t a = fr[2 * i], n = fr[2 * i + 1];
    if (a < FZ_SANDBOX || a + n > FZ_SANDBOX + FZ_SB_SIZE) continue;
    out(" ");
    for (uint64_t j = n; j-- > 0;) out("%02x", p[a - FZ_SANDBOX + j]);
    memset(p + (a - FZ_SANDBOX), 0, n);
  }
  out("\n");
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < FZ_SB_SIZE / 8; i++) h = (h ^ copy[i]) * 1099511628211ull;
  out("mem %016llx\n", (unsigned long long)h);
  char path[4096];
  snprintf(path, sizeof path, "%s/mem.%d", fz_outdir, ev);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  for (size_t off = 0; off < FZ_SB_SIZE;) {
    ssize_t w = write(fd, p + off, FZ_SB_SIZE - off);
    if (w <= 0) break;
    off += (size_t)w;
  }
  close(fd);
}

/* The instruction index of pc in the blob's table, or -1. */
static long insn_index(uint64_t pc)
{
  const uint64_t *t = (const uint64_t *)fz_hdr->itab;
  for (uint64_t i = 0; i <= fz_hdr->n; i++)
    if (t[i] == pc) return (long)i;
  return -1;
}

/* -- Signals --------------------------------------------------------------- */

/* Record a signal's siginfo and the full ucontext, then resume after the
 * faulting instruction (after int3 the pc already points past it). */
static void on_signal(int sig, siginfo_t *si, void *ucv)
{
  ucontext_t *uc = ucv;
  greg_t *g = uc->uc_mcontext.gregs;
  int ev = ++fz_events;
  uint64_t pc = (uint64_t)g[REG_RIP];
  long k = insn_index(pc);
  out("event %d signal %d code %d addr %016llx\n", ev, sig, si->si_code,
      (unsigned long long)(uintptr_t)si->si_addr);
  out("insn %ld\nrip %016llx\n", k, (unsigned long long)pc);
  for (int i = 0; i < 16; i++)
    out("%s %016llx\n", fz_gpr_names[i], (unsigned long long)g[fz_greg[i]]);
  /* RF on its own line, so the runner can tell a known difference apart */
  out("rflags %016llx\nrf %d\nerr %llx\ntrapno %lld\nsigmask %016llx\n",
      (unsigned long long)g[REG_EFL] & ~0x10000ull, (int)(g[REG_EFL] >> 16 & 1), (unsigned long long)g[REG_ERR],
      (long long)g[REG_TRAPNO], (unsigned long long)uc->uc_sigmask.__val[0]);
  const uint8_t *fp = (const uint8_t *)uc->uc_mcontext.fpregs;
  if (!fp) {
    out("fpstate none\n");
  } else {
    uint32_t magic1, xsz;
    uint64_t bv = 3;
    memcpy(&magic1, fp + 464, 4);
    memcpy(&xsz, fp + 464 + 4, 4);
    if (magic1 == 0x46505853u) memcpy(&bv, fp + 512, 8);   /* FP_XSTATE_MAGIC1 */
    out("fpstate %s\n", magic1 == 0x46505853u ? "xsave" : "fxsave");
    dump_xstate(fp, bv);
  }
  dump_memory(ev, (uint64_t)g[REG_RSP]);
  flush_out();
  if (ev > 64) _exit(4);
  if (k < 0) _exit(3);
  const uint8_t *flags = (const uint8_t *)fz_hdr->ftab;
  int trap_after = sig == SIGTRAP && k > 0 && (flags[k - 1] & 1);
  if (!trap_after) {
    if ((uint64_t)k >= fz_hdr->n) _exit(3);
    g[REG_RIP] = (greg_t)((const uint64_t *)fz_hdr->itab)[k + 1];
  }
}

/* -- Setup ----------------------------------------------------------------- */

/* splitmix64: the seeded values of registers and memory. */
static uint64_t rnd(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Fill n bytes with seeded values. */
static void fill(uint64_t *s, uint8_t *p, size_t n)
{
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rnd(s);
    memcpy(p + i, &v, n - i < 8 ? n - i : 8);
  }
}

/* Map [addr, addr+len) exactly there, or exit. */
static void *map_fixed(uint64_t addr, size_t len, int prot)
{
  void *p = mmap((void *)addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != (void *)addr) {
    fprintf(stderr, "fz-harness: cannot map %#llx: %s\n", (unsigned long long)addr,
            p == MAP_FAILED ? strerror(errno) : "placed elsewhere");
    exit(2);
  }
  return p;
}

/* Read the blob into the code area and check its header. */
static void load_blob(const char *path)
{
  uint8_t *code = map_fixed(FZ_CODE, FZ_CODE_SIZE, PROT_READ | PROT_WRITE);
  FILE *f = fopen(path, "rb");
  if (!f) { fprintf(stderr, "fz-harness: %s: %s\n", path, strerror(errno)); exit(2); }
  size_t n = fread(code, 1, FZ_CODE_SIZE, f);
  fclose(f);
  fz_hdr = (const struct fz_hdr *)code;
  if (n < sizeof *fz_hdr || fz_hdr->magic != FZ_MAGIC || fz_hdr->itab - FZ_CODE >= n ||
      fz_hdr->ftab - FZ_CODE >= n || fz_hdr->fipr - FZ_CODE > n ||
      fz_hdr->fipr - FZ_CODE + 16 * fz_hdr->nfipr > n) {
    fprintf(stderr, "fz-harness: %s: not a fuzzer blob\n", path);
    exit(2);
  }
  mprotect(code, FZ_CODE_SIZE, PROT_READ | PROT_EXEC);
}

/* The XSAVE component offsets and the compared mask (CPUID leaf 0xd, XCR0). */
static void probe_xsave(void)
{
  unsigned a, b, c, d;
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  fz_mask = FZ_XMASK & lo;
  for (int i = 2; i < 8; i++)
    if (fz_mask & (1u << i)) {
      __cpuid_count(0xd, i, a, b, c, d);
      fz_xoff[i] = b;
      if (a + b > sizeof fz_xinit) { fprintf(stderr, "fz-harness: xsave area too large\n"); exit(2); }
    }
}

/* Seeded x87 values: normal 80-bit numbers of moderate magnitude. */
static void seed_x87(uint64_t *s, uint8_t *xs)
{
  uint16_t fcw = 0x37f;
  memcpy(xs, &fcw, 2);
  xs[4] = 0xff;                           /* abridged tag: all eight valid */
  for (int i = 0; i < 8; i++) {
    uint64_t m = rnd(s) | (1ull << 63);
    uint16_t e = (uint16_t)(0x3ff0 + rnd(s) % 32) | (uint16_t)((rnd(s) & 1) << 15);
    memcpy(xs + 32 + 16 * i, &m, 8);
    memcpy(xs + 32 + 16 * i + 8, &e, 2);
  }
}

int main(int argc, char **argv)
{
  if (argc != 4) {
    fprintf(stderr, "usage: fz-harness BLOB SEED OUTDIR\n");
    return 2;
  }
  char *end;
  uint64_t s = strtoull(argv[2], &end, 0);
  if (*end) { fprintf(stderr, "fz-harness: bad seed '%s'\n", argv[2]); return 2; }
  fz_outdir = argv[3];
  probe_xsave();
  load_blob(argv[1]);

  uint8_t *ctl = map_fixed(FZ_CTL, FZ_CTL_SIZE, PROT_READ | PROT_WRITE);
  uint64_t exit_pc = (uint64_t)(uintptr_t)fz_exit;
  memcpy(ctl + FZ_CTL_EXIT, &exit_pc, 8);
  fill(&s, map_fixed(FZ_SANDBOX, FZ_SB_SIZE, PROT_READ | PROT_WRITE), FZ_SB_SIZE);
  uint8_t *ro = map_fixed(FZ_RO, 0x1000, PROT_READ | PROT_WRITE);
  fill(&s, ro, 0x1000);
  mprotect(ro, 0x1000, PROT_READ);

  stack_t ss = { .ss_sp = map_fixed(FZ_ALTSTACK, FZ_ALT_SIZE, PROT_READ | PROT_WRITE),
                 .ss_size = FZ_ALT_SIZE };
  if (sigaltstack(&ss, NULL)) { perror("fz-harness: sigaltstack"); return 2; }
  struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_ONSTACK };
  sigemptyset(&sa.sa_mask);
  int sigs[] = { SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGBUS };
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);

  struct fz_init st;
  for (int i = 0; i < 16; i++) st.gpr[i] = rnd(&s);
  st.gpr[4] = FZ_STACK_TOP;
  st.rflags = 0x202 | (rnd(&s) & 0x8d5);   /* IF, and random CF PF AF ZF SF OF */
  seed_x87(&s, fz_xinit);
  uint32_t mxcsr = 0x1f80;
  memcpy(fz_xinit + 24, &mxcsr, 4);
  fill(&s, fz_xinit + 160, 256);
  for (int i = 2; i < 8; i++)
    if (fz_mask & (1u << i)) {
      unsigned a, b, c, d;
      __cpuid_count(0xd, i, a, b, c, d);
      fill(&s, fz_xinit + b, a);
    }
  memcpy(fz_xinit + 512, &fz_mask, 8);     /* XSTATE_BV: every component loaded */
  st.xsave = (uint64_t)(uintptr_t)fz_xinit;
  st.mask = fz_mask;
  st.entry = fz_hdr->entry;

  fz_enter(&st);

  const uint64_t *g = (const uint64_t *)(ctl + FZ_CTL_GPR);
  out("event 0 end\n");
  for (int i = 0; i < 16; i++) out("%s %016llx\n", fz_gpr_names[i], (unsigned long long)g[i]);
  uint64_t fl;
  memcpy(&fl, ctl + FZ_CTL_RFLAGS, 8);
  out("rflags %016llx\n", (unsigned long long)fl);
  uint64_t bv;
  memcpy(&bv, ctl + FZ_CTL_XSAVE + 512, 8);
  dump_xstate(ctl + FZ_CTL_XSAVE, bv);
  dump_memory(0, g[4]);
  out("events %d\n", fz_events);
  flush_out();
  return 0;
}
