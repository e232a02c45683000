/* lurk: the C unit tests' CHECK(cond, fmt, ...): counts checks and
** failures, prints each failure with file:line and the message (the first
** 50 of them). */
#ifndef LURK_SPEC_CHECK_H
#define LURK_SPEC_CHECK_H
#include <stdio.h>

static int fails, checks;
#define CHECK(c, ...)                                                  \
  do {                                                                 \
    checks++;                                                          \
    if (!(c) && ++fails <= 50) {                                       \
      fprintf(stderr, "%s:%d: FAIL %s: ", __FILE__, __LINE__, #c);     \
      fprintf(stderr, __VA_ARGS__);                                    \
      fprintf(stderr, "\n");                                           \
    }                                                                  \
  } while (0)

#endif
