// CFLAGS: -O2
/* Dense switch statements that gcc -O2 compiles to jump tables (an indirect
 * jmp through a table of relative offsets in .rodata), including a bytecode
 * interpreter loop and a switch over a char. */
#include <stdio.h>
#include <stdint.h>

__attribute__((noinline)) static uint64_t step(unsigned op, uint64_t x)
{
    switch (op) {
    case 0: return x + 1;
    case 1: return x * 3;
    case 2: return x ^ 0x5555;
    case 3: return x >> 1;
    case 4: return x << 2;
    case 5: return x - 7;
    case 6: return ~x;
    case 7: return x * x;
    case 8: return x + 0x1234567;
    case 9: return x | 0x100;
    case 10: return x & 0xffffffffffull;
    case 11: return x / 3;
    case 12: return x % 1000003;
    case 13: return x + (x >> 7);
    case 14: return x - (x << 3);
    case 15: return x ^ (x >> 17);
    default: return x;
    }
}

enum { PUSH, ADD, SUB, MUL, DUP, SWAP, ROT, JNZ, DEC, POP, HALT };

static int64_t run_vm(const int *code)
{
    int64_t st[64];
    int sp = 0, pc = 0;
    for (;;) {
        switch (code[pc++]) {
        case PUSH: st[sp++] = code[pc++]; break;
        case ADD:  sp--; st[sp - 1] += st[sp]; break;
        case SUB:  sp--; st[sp - 1] -= st[sp]; break;
        case MUL:  sp--; st[sp - 1] *= st[sp]; break;
        case DUP:  st[sp] = st[sp - 1]; sp++; break;
        case SWAP: { int64_t t = st[sp - 1]; st[sp - 1] = st[sp - 2]; st[sp - 2] = t; break; }
        case ROT:  { int64_t a = st[sp - 3]; st[sp - 3] = st[sp - 2]; st[sp - 2] = st[sp - 1]; st[sp - 1] = a; break; }
        case JNZ:  { int tgt = code[pc++]; if (st[--sp]) pc = tgt; break; }
        case DEC:  st[sp - 1]--; break;
        case POP:  sp--; break;
        case HALT: return st[sp - 1];
        }
    }
}

static const char *classify(char c)
{
    switch (c) {
    case 'a': case 'e': case 'i': case 'o': case 'u': return "vowel";
    case 'b': case 'c': case 'd': case 'f': case 'g': case 'h': return "early";
    case 'j': case 'k': case 'l': case 'm': case 'n': return "mid";
    case 'p': case 'q': case 'r': case 's': case 't': return "late";
    case 'v': case 'w': case 'x': case 'y': case 'z': return "end";
    default: return "other";
    }
}

int main(void)
{
    uint64_t x = 1;
    unsigned hist[17] = {0};
    for (unsigned i = 0; i < 3000000; i++) {
        unsigned op = (unsigned)(x >> 3) % 17;
        hist[op]++;
        x = step(op, x) + i;
    }
    printf("x=%016llx\n", (unsigned long long)x);
    for (int i = 0; i < 17; i++)
        printf("op%-2d %u\n", i, hist[i]);

    static const int prog[] = { PUSH, 6, PUSH, 7, MUL, PUSH, 2, SUB, DUP, ADD, PUSH, 5, SWAP, SUB, HALT };
    printf("vm=%lld\n", (long long)run_vm(prog));
    /* acc = 0; for (n = 100000; n; n--) acc += 7 * n; */
    static const int loop[] = {
        PUSH, 0, PUSH, 100000,       /* acc n */
        /* 4: */ DUP, PUSH, 7, MUL,  /* acc n 7n */
        ROT, ADD, SWAP,              /* acc+7n n */
        DEC, DUP, JNZ, 4,            /* loop while n != 0 */
        POP, HALT
    };
    printf("vm loop=%lld\n", (long long)run_vm(loop));

    const char *text = "the quick brown fox jumps over the lazy dog 0123";
    unsigned v = 0, e = 0, m = 0, l = 0, n = 0, o = 0;
    for (const char *p = text; *p; p++) {
        const char *k = classify(*p);
        switch (k[0]) { case 'v': v++; break; case 'e': k[1] == 'a' ? e++ : n++; break;
                        case 'm': m++; break; case 'l': l++; break; default: o++; }
    }
    printf("vowel %u early %u mid %u late %u end %u other %u\n", v, e, m, l, n, o);
    return 0;
}
