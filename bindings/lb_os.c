/* lurk: the os library, on raw syscalls (LuaJIT's uses libc's time zone,
** locale, environ and exit). lurk has no time zones: os.date's local time
** is UTC. os.getenv reads the environment the program started with.
*/
#include <errno.h>
#include <fcntl.h>
#include <lualib.h>
#include <time.h>
#include "lb_int.h"
#include "../engine/log.h"
#include "../arch/x86_64/syscall.h"

/* -- Calendar (UTC, proleptic Gregorian; Hinnant's algorithms) ---------- */

struct lb_tm { long year, month, day, hour, min, sec, wday, yday; };

static long lb_days_from_civil(long y, long m, long d)
{
  y -= m <= 2;
  long era = (y >= 0 ? y : y - 399) / 400;
  long yoe = y - era * 400;
  long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void lb_civil_from_time(long t, struct lb_tm *tm)
{
  long days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  long secs = t - days * 86400;
  tm->hour = secs / 3600;
  tm->min = secs / 60 % 60;
  tm->sec = secs % 60;
  tm->wday = (days % 7 + 11) % 7;                 /* 1970-01-01 was a Thursday */
  long z = days + 719468;
  long era = (z >= 0 ? z : z - 146096) / 146097;
  long doe = z - era * 146097;
  long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  long mp = (5 * doy + 2) / 153;
  tm->day = doy - (153 * mp + 2) / 5 + 1;
  tm->month = mp < 10 ? mp + 3 : mp - 9;
  tm->year = yoe + era * 400 + (tm->month <= 2);
  tm->yday = days - lb_days_from_civil(tm->year, 1, 1);
}

/* -- Time -------------------------------------------------------------- */

static long lb_field(lua_State *L, const char *key, long def)
{
  lua_getfield(L, -1, key);
  long v;
  if (lua_isnumber(L, -1)) v = (long)lua_tonumber(L, -1);
  else if (def < 0) return luaL_error(L, "field '%s' missing in date table", key);
  else v = def;
  lua_pop(L, 1);
  return v;
}

/* os.time([t]): now, or the time of the date table t read as UTC. */
static int lb_os_time(lua_State *L)
{
  if (lua_isnoneornil(L, 1)) {
    struct timespec ts;
    sys_call2(SYS_clock_gettime, CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec);
    return 1;
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  long sec = lb_field(L, "sec", 0), min = lb_field(L, "min", 0), hour = lb_field(L, "hour", 12);
  long day = lb_field(L, "day", -1), month = lb_field(L, "month", -1), year = lb_field(L, "year", -1);
  long m0 = month - 1;
  year += m0 >= 0 ? m0 / 12 : -((11 - m0) / 12);
  m0 -= (m0 >= 0 ? m0 / 12 : -((11 - m0) / 12)) * 12;
  long days = lb_days_from_civil(year, m0 + 1, 1) + day - 1;
  lua_pushnumber(L, (lua_Number)days * 86400 + hour * 3600 + min * 60 + sec);
  return 1;
}

/* os.clock(): CPU time of the process (program and lurk), in seconds. */
static int lb_os_clock(lua_State *L)
{
  struct timespec ts;
  sys_call2(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

static int lb_os_difftime(lua_State *L)
{
  lua_pushnumber(L, luaL_checknumber(L, 1) - luaL_optnumber(L, 2, 0));
  return 1;
}

static const char *const lb_wdays[] = { "Sunday", "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday" };
static const char *const lb_months[] = { "January", "February", "March", "April", "May",
                                         "June", "July", "August", "September", "October",
                                         "November", "December" };

/* Append one strftime conversion to b; 0 if c is not supported. */
static int lb_conv(luaL_Buffer *b, char c, const struct lb_tm *tm, long t)
{
  char tmp[64];
  switch (c) {
  case 'a': lurk_memcpy(tmp, lb_wdays[tm->wday], 3); tmp[3] = 0; break;
  case 'A': log_snprintf(tmp, sizeof tmp, "%s", lb_wdays[tm->wday]); break;
  case 'b': case 'h': lurk_memcpy(tmp, lb_months[tm->month - 1], 3); tmp[3] = 0; break;
  case 'B': log_snprintf(tmp, sizeof tmp, "%s", lb_months[tm->month - 1]); break;
  case 'c':
    lurk_memcpy(tmp, lb_wdays[tm->wday], 3);
    tmp[3] = ' ';
    lurk_memcpy(tmp + 4, lb_months[tm->month - 1], 3);
    log_snprintf(tmp + 7, sizeof tmp - 7, " %2ld %02ld:%02ld:%02ld %ld", tm->day, tm->hour,
                 tm->min, tm->sec, tm->year);
    break;
  case 'd': log_snprintf(tmp, sizeof tmp, "%02ld", tm->day); break;
  case 'e': log_snprintf(tmp, sizeof tmp, "%2ld", tm->day); break;
  case 'D': case 'x':
    log_snprintf(tmp, sizeof tmp, "%02ld/%02ld/%02ld", tm->month, tm->day, tm->year % 100);
    break;
  case 'F': log_snprintf(tmp, sizeof tmp, "%ld-%02ld-%02ld", tm->year, tm->month, tm->day); break;
  case 'H': log_snprintf(tmp, sizeof tmp, "%02ld", tm->hour); break;
  case 'I': log_snprintf(tmp, sizeof tmp, "%02ld", (tm->hour + 11) % 12 + 1); break;
  case 'j': log_snprintf(tmp, sizeof tmp, "%03ld", tm->yday + 1); break;
  case 'm': log_snprintf(tmp, sizeof tmp, "%02ld", tm->month); break;
  case 'M': log_snprintf(tmp, sizeof tmp, "%02ld", tm->min); break;
  case 'n': tmp[0] = '\n'; tmp[1] = 0; break;
  case 'p': log_snprintf(tmp, sizeof tmp, "%s", tm->hour < 12 ? "AM" : "PM"); break;
  case 's': log_snprintf(tmp, sizeof tmp, "%ld", t); break;
  case 'S': log_snprintf(tmp, sizeof tmp, "%02ld", tm->sec); break;
  case 't': tmp[0] = '\t'; tmp[1] = 0; break;
  case 'T': case 'X':
    log_snprintf(tmp, sizeof tmp, "%02ld:%02ld:%02ld", tm->hour, tm->min, tm->sec);
    break;
  case 'u': log_snprintf(tmp, sizeof tmp, "%ld", tm->wday ? tm->wday : 7); break;
  case 'w': log_snprintf(tmp, sizeof tmp, "%ld", tm->wday); break;
  case 'y': log_snprintf(tmp, sizeof tmp, "%02ld", tm->year % 100); break;
  case 'Y': log_snprintf(tmp, sizeof tmp, "%ld", tm->year); break;
  case 'z': log_snprintf(tmp, sizeof tmp, "+0000"); break;
  case 'Z': log_snprintf(tmp, sizeof tmp, "UTC"); break;
  case '%': tmp[0] = '%'; tmp[1] = 0; break;
  default: return 0;
  }
  luaL_addstring(b, tmp);
  return 1;
}

/* os.date([fmt [, t]]): UTC always (a leading '!' is accepted); "*t" gives
** a table; conversions: aAbBcdDeFhHIjmMnpsStTuwxXyYzZ%. */
static int lb_os_date(lua_State *L)
{
  const char *fmt = luaL_optstring(L, 1, "%c");
  long t;
  if (lua_isnoneornil(L, 2)) {
    struct timespec ts;
    sys_call2(SYS_clock_gettime, CLOCK_REALTIME, &ts);
    t = ts.tv_sec;
  } else {
    t = (long)luaL_checknumber(L, 2);
  }
  struct lb_tm tm;
  lb_civil_from_time(t, &tm);
  if (*fmt == '!') fmt++;
  if (fmt[0] == '*' && fmt[1] == 't') {
    lua_createtable(L, 0, 9);
    lua_pushinteger(L, tm.sec); lua_setfield(L, -2, "sec");
    lua_pushinteger(L, tm.min); lua_setfield(L, -2, "min");
    lua_pushinteger(L, tm.hour); lua_setfield(L, -2, "hour");
    lua_pushinteger(L, tm.day); lua_setfield(L, -2, "day");
    lua_pushinteger(L, tm.month); lua_setfield(L, -2, "month");
    lua_pushinteger(L, tm.year); lua_setfield(L, -2, "year");
    lua_pushinteger(L, tm.wday + 1); lua_setfield(L, -2, "wday");
    lua_pushinteger(L, tm.yday + 1); lua_setfield(L, -2, "yday");
    lua_pushboolean(L, 0); lua_setfield(L, -2, "isdst");
    return 1;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (; *fmt; fmt++) {
    if (*fmt != '%') { luaL_addchar(&b, *fmt); continue; }
    if (!lb_conv(&b, fmt[1], &tm, t))
      return luaL_error(L, "bad argument #1 to 'date' (invalid conversion specifier '%%%c')",
                        fmt[1] ? fmt[1] : ' ');
    fmt++;
  }
  luaL_pushresult(&b);
  return 1;
}

/* -- Environment, files, process --------------------------------------- */

/* os.getenv(name): from the environment the program started with (the
** program may change its own afterwards; lurk does not follow). */
static int lb_os_getenv(lua_State *L)
{
  size_t n;
  const char *name = luaL_checklstring(L, 1, &n);
  const char *v = lb_env_get(name, n);
  if (v) lua_pushstring(L, v); else lua_pushnil(L);
  return 1;
}

static int lb_os_result(lua_State *L, long r, const char *what)
{
  if (SYS_FAILED(r)) return lb_fileresult(L, what, r);
  lua_pushboolean(L, 1);
  return 1;
}

/* os.remove(path): a file or an empty directory. */
static int lb_os_remove(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  long r = sys_call3(SYS_unlinkat, AT_FDCWD, path, 0);
  if (r == -EISDIR) r = sys_call3(SYS_unlinkat, AT_FDCWD, path, AT_REMOVEDIR);
  return lb_os_result(L, r, path);
}

static int lb_os_rename(lua_State *L)
{
  const char *from = luaL_checkstring(L, 1);
  const char *to = luaL_checkstring(L, 2);
  return lb_os_result(L, sys_call2(SYS_rename, from, to), from);
}

/* os.tmpname(): a new empty file /tmp/lurk_XXXXXX (created, so the name is
** taken). */
static int lb_os_tmpname(lua_State *L)
{
  static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  for (int tries = 0; tries < 100; tries++) {
    unsigned char rnd[6];
    char name[32];
    if (sys_call3(SYS_getrandom, rnd, sizeof rnd, 0) != (long)sizeof rnd)
      return luaL_error(L, "unable to generate a unique filename");
    lurk_memcpy(name, "/tmp/lurk_", 10);
    for (int i = 0; i < 6; i++) name[10 + i] = digits[rnd[i] % 36];
    name[16] = 0;
    long fd = sys_openat(AT_FDCWD, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd == -EEXIST) continue;
    if (SYS_FAILED(fd)) return luaL_error(L, "unable to generate a unique filename");
    sys_close(fd);
    lua_pushstring(L, name);
    return 1;
  }
  return luaL_error(L, "unable to generate a unique filename");
}

/* os.exit([code [, close]]): code true = 0, false = 1, default 0. Runs the
** exit handlers (once), flushes the scripts' files, ends the process. */
static int lb_os_exit(lua_State *L)
{
  int code;
  if (lua_isboolean(L, 1)) code = lua_toboolean(L, 1) ? 0 : 1;
  else code = (int)luaL_optinteger(L, 1, 0);
  lb_exit(L, code);
  return 0;
}

static int lb_os_execute(lua_State *L)
{
  return luaL_error(L, "os.execute is not available in lurk (it would run a command inside the program)");
}

/* os.setlocale: lurk has only the C locale. */
static int lb_os_setlocale(lua_State *L)
{
  const char *l = luaL_optstring(L, 1, NULL);
  if (!l || !*l || !lurk_strcmp(l, "C") || !lurk_strcmp(l, "POSIX")) lua_pushliteral(L, "C");
  else lua_pushnil(L);
  return 1;
}

static const luaL_Reg lb_os_funcs[] = {
  { "time", lb_os_time }, { "clock", lb_os_clock }, { "date", lb_os_date },
  { "difftime", lb_os_difftime }, { "getenv", lb_os_getenv }, { "remove", lb_os_remove },
  { "rename", lb_os_rename }, { "tmpname", lb_os_tmpname }, { "exit", lb_os_exit },
  { "execute", lb_os_execute }, { "setlocale", lb_os_setlocale }, { NULL, NULL }
};

void lb_open_os(lua_State *L)
{
  luaL_register(L, LUA_OSLIBNAME, lb_os_funcs);
  lua_pop(L, 1);
}
