// CFLAGS: -O2
/* abort(): death by SIGABRT (status 134 in the runner).  A line written with
 * write() comes out; a line left in stdio's buffer does not (abort does not
 * flush streams). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
    write(1, "written before abort\n", 21);
    printf("left in the stdio buffer (never printed)\n");
    abort();
}
