/* lurk: engine options, passed from the launcher in LURK_OPTIONS.
** OPTDEF lists every option once: (field, key, kind, default).
*/
#ifndef LURK_OPT_H
#define LURK_OPT_H
#include "lurk.h"

#define OPTDEF(_)                         \
  _(stats, "stats", INT, 0)               \
  _(log_level, "log", INT, 1)             \
  _(follow, "follow", INT, 1)             \
  _(far_cache, "far_cache", INT, 0)       \
  _(superblocks, "superblocks", INT, 1)   \
  _(early, "early", INT, 0)               \
  _(mangle_fs, "mangle_fs", INT, 0)       \
  _(ctl, "ctl", INT, 0)                   \
  _(watch, "watch", INT, 0)               \
  _(inline_calls, "inline", INT, 1)       \
  _(explain, "explain", INT, 0)           \
  _(sigmask, "sigmask", STR, 0)           \
  _(output, "output", STR, 0)             \
  _(lib, "lib", STR, 0)                   \
  _(launcher, "launcher", STR, 0)         \
  _(scripts, "scripts", STR, 0)           \
  _(path, "path", STR, 0)

#define OPT_FIELD_INT(f) int f;
#define OPT_FIELD_STR(f) const char *f;
struct lurk_opts {
#define OPTFIELD(f, key, kind, def) OPT_FIELD_##kind(f)
  OPTDEF(OPTFIELD)
#undef OPTFIELD
};

extern struct lurk_opts opt;

/* Separator between key=value pairs in LURK_OPTIONS (ASCII unit separator). */
#define OPT_SEP '\x1f'
/* Inside the "scripts" value: scripts are separated by OPT_SCRIPT_SEP (ASCII
** record separator); the fields of one script by OPT_FIELD_SEP (group
** separator). A script is "<kind><path or code>", display name, args...;
** kind 'f' is a file, 'e' a chunk given with -e. "path" is the module and
** script search path (directories separated by ':'). The launcher refuses
** arguments that contain these bytes. */
#define OPT_SCRIPT_SEP '\x1e'
#define OPT_FIELD_SEP '\x1d'

lurk_status opt_parse(const char *s);
/* Serialize the current options into buf (for execve); returns length. */
size_t opt_format(char *buf, size_t n);

#endif
