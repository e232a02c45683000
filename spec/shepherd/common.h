/* Shared by the shepherd corpus (spec/shepherd_spec.lua). Each program
 * has one real memory-safety bug and two modes: "benign" feeds it a
 * harmless input, "attack" an input that overruns it. The programs leak
 * the addresses an attacker would learn from an info leak (a format
 * string bug, a stray pointer in the output) through globals, so the
 * attack input works with ASLR on and at any stack depth; the payload
 * prints a marker ("PWNED") when it runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>

/* x86-64 code: write(1, "PWNED\n", 6); exit(42) -- position independent */
static const unsigned char shellcode[] = {
  0x48, 0x8d, 0x35, 0x1d, 0x00, 0x00, 0x00,  /* lea rsi, [rip+29] -> msg */
  0xbf, 0x01, 0x00, 0x00, 0x00,              /* mov edi, 1 */
  0xba, 0x06, 0x00, 0x00, 0x00,              /* mov edx, 6 */
  0xb8, 0x01, 0x00, 0x00, 0x00,              /* mov eax, 1 (write) */
  0x0f, 0x05,                                /* syscall */
  0xbf, 0x2a, 0x00, 0x00, 0x00,              /* mov edi, 42 */
  0xb8, 0x3c, 0x00, 0x00, 0x00,              /* mov eax, 60 (exit) */
  0x0f, 0x05,                                /* syscall */
  'P', 'W', 'N', 'E', 'D', '\n',
};

/* The mode from argv: 1 for "attack", 0 for "benign"; exits 2 otherwise. */
static int attack_mode(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "attack") == 0) return 1;
  if (argc == 2 && strcmp(argv[1], "benign") == 0) return 0;
  fprintf(stderr, "usage: %s benign|attack\n", argv[0]);
  exit(2);
}
