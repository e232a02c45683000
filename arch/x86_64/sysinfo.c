/* lurk: the x86-64 system call table (sysnames.h) behind arch/sysinfo.h.
** Dense by number; a number the kernel does not have has no name.
*/
#include "../sysinfo.h"
#include "sysnames.h"

#define SYSINFO_ENT(nr, name, ret, args) [nr] = { nr, #name, ret, args },
static const struct sysinfo sysinfo_tab[] = { SYSNAMEDEF(SYSINFO_ENT) };
#undef SYSINFO_ENT

const int sysinfo_max = (int)(sizeof sysinfo_tab / sizeof sysinfo_tab[0]);

static const struct { char c; const char *name; } sysinfo_kinds[] = {
#define SYSKIND_NAME(c, name) { c, #name },
  SYSKINDDEF(SYSKIND_NAME)
#undef SYSKIND_NAME
};

const struct sysinfo *sysinfo_get(long nr)
{
  if (nr < 0 || nr >= sysinfo_max || !sysinfo_tab[nr].name) return NULL;
  return &sysinfo_tab[nr];
}

const struct sysinfo *sysinfo_find(const char *name)
{
  for (int i = 0; i < sysinfo_max; i++)
    if (sysinfo_tab[i].name && !lurk_strcmp(sysinfo_tab[i].name, name)) return &sysinfo_tab[i];
  return NULL;
}

const char *sysinfo_kind_name(char kind)
{
  for (size_t i = 0; i < SYS_K__MAX; i++)
    if (sysinfo_kinds[i].c == kind) return sysinfo_kinds[i].name;
  return NULL;
}
