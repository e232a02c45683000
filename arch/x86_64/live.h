/* lurk: register and flags liveness over a block's app instructions
** (drreg's job), for the snippets the translator inserts between them.
** Arch-private: tr.c and hc.c use it.
*/
#ifndef LURK_X86_LIVE_H
#define LURK_X86_LIVE_H
#include <stdint.h>
#include <Zydis/Zydis.h>
#include "../../engine/bb.h"

/* Bits 0..15: general registers (hardware numbers, ORDER GPR); LIVE_FLAGS:
** any of the six arithmetic status flags (CF PF AF ZF SF OF). */
#define LIVE_FLAGS (1u << 16)
#define LIVE_ALL 0x1ffffu

/* out[i] (i = 0..n): what may still be read from the boundary before
** instruction i on (out[n]: the block's end, where everything is live).
** extra[i] adds what instrumentation placed at boundary i reads (a clean
** call reads every register through ctx). */
struct cc_site;
struct hc_prog;
/* Compiled handlers (hc.c): the registers a site's arguments read (-1:
** not computable inline), and the program's code at the site. */
int64_t arch_hc_reads(const struct cc_site *s);
void arch_hc_emit(uint8_t **p, const struct hc_prog *pr, uint32_t site_id, uint32_t live,
                  uint64_t block_pc, const uint8_t *block_start);
int arch_hc_reg_width(uint16_t reg);
/* The registers the sites emitted so far left in their save slots (bit
** per hardware number; LIVE_FLAGS: the status flags), and setting them (a
** new block: 0; a translation cut back to an earlier point: the mask
** there). arch_hc_unspill emits the loads that put those in mask back
** (the flags too when mask has LIVE_FLAGS or rax) and forgets them. */
uint32_t arch_hc_spilled(void);
void arch_hc_set_spilled(uint32_t m);
void arch_hc_unspill(uint8_t **p, uint32_t mask);
/* The general registers instruction d (ops: its operands, hidden ones
** included) reads or writes in any way, explicit or implicit, and
** LIVE_FLAGS if it reads or writes a status flag. */
uint32_t live_touched(const ZydisDecodedInstruction *d, const ZydisDecodedOperand *ops);
/* What a program at a site may read of the app's state: its arguments'
** registers, or everything when it may call its handler (HC_CALL). */
uint32_t arch_hc_live(const struct hc_prog *pr, const struct cc_site *s);

void live_block(const struct insn *insns, unsigned n, const uint32_t *extra, uint32_t *out);

#endif
