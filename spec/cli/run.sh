#!/usr/bin/env bash
# lurk: command-line behaviour and takeover checks. One line per case, then
# "cli: N passed, M failed". Usage: spec/cli/run.sh [--lurk PATH]
set -u
here=$(cd "$(dirname "$0")" && pwd)
LURK=${LURK:-$here/../../build/lurk}
[ "${1:-}" = --lurk ] && LURK=$2
work=$(mktemp -d /tmp/lurk-cli.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0

# expect NAME STATUS STDERR-REGEX -- COMMAND...: status and a stderr match
# (EMPTY: stderr must be empty).
expect() {
  local name=$1 want=$2 re=$3; shift 4
  "$@" >"$work/out" 2>"$work/err" </dev/null
  local got=$?
  local errok=0
  if [ "$re" = EMPTY ]; then [ -s "$work/err" ] || errok=1; else grep -Eq -- "$re" "$work/err" && errok=1; fi
  if [ "$got" = "$want" ] && [ "$errok" = 1 ]; then
    echo "PASS $name"; pass=$((pass + 1))
  else
    echo "FAIL $name: status $got (want $want), stderr: $(head -c 300 "$work/err")"; fail=$((fail + 1))
  fi
}

expect help 0 EMPTY -- "$LURK" --help
expect version 0 EMPTY -- "$LURK" --version
expect unknown_option 2 "unknown option '--bogus'" -- "$LURK" run --bogus -- /bin/true
expect unknown_command 2 "unknown command 'fly'" -- "$LURK" fly
expect missing_dashdash 2 "missing '--'" -- "$LURK" run /bin/true
expect missing_program 2 "missing the program" -- "$LURK" run --
expect bad_log_level 2 "bad --log level" -- "$LURK" run --log loud -- /bin/true
expect not_found 127 "no-such-prog-xyz: command not found" -- "$LURK" run -- no-such-prog-xyz
expect not_found_path 127 "No such file or directory" -- "$LURK" run -- ./no/such/prog
printf 'x' >"$work/noexec"; chmod 644 "$work/noexec"
expect not_executable 126 "Permission denied" -- "$LURK" run -- "$work/noexec"
expect directory 126 "Is a directory" -- "$LURK" run -- /tmp
if gcc -static -O1 -o "$work/static" -x c - <<<'int main(void){return 0;}' 2>/dev/null; then
  expect static_refused 126 "statically linked" -- "$LURK" run --preload -- "$work/static"
  expect static_runs 0 EMPTY -- "$LURK" run -- "$work/static"
else
  echo "FAIL static_refused: cannot build a static test program (libc6-dev?)"; fail=$((fail + 1))
fi
cp /bin/true "$work/suid" && chmod u+s "$work/suid"
expect setuid_refused 126 "setuid" -- "$LURK" run -- "$work/suid"
expect exit_status 3 EMPTY -- "$LURK" run -- /bin/sh -c 'exit 3'
expect eval_ok 0 '^hello	3$' -- "$LURK" run -e 'print("hello", 1 + 2)' -- /bin/true
expect eval_runtime_error 1 '\(command line\):1: boom' -- "$LURK" run -e 'error("boom")' -- /bin/true
expect eval_traceback 1 'stack traceback' -- "$LURK" run -e 'local function f() error("x") end f()' -- /bin/true
expect eval_syntax_error 1 "unexpected symbol near '='" -- "$LURK" run -e 'x = = 1' -- /bin/true
expect missing_script 2 "cannot find script 'no-such-tool-xyz'" -- "$LURK" run no-such-tool-xyz -- /bin/true
expect missing_script_path 2 "cannot open script './no/such.lua': No such file or directory" -- "$LURK" run ./no/such.lua -- /bin/true
expect missing_tool 2 "cannot find script 'no-such-tool-xyz'" -- "$LURK" run -t no-such-tool-xyz -- /bin/true
expect output_file 0 EMPTY -- "$LURK" run --stats --output "$work/lurk.log" -- /bin/true
if grep -q 'blocks built' "$work/lurk.log"; then echo "PASS output_file_written"; pass=$((pass + 1));
else echo "FAIL output_file_written: no stats in --output file"; fail=$((fail + 1)); fi

# An instruction lurk cannot handle stops the run with its bytes and address
# (int 0x80 is the 32-bit syscall gate; natively it runs getpid).
if gcc -O1 -o "$work/int80" -x c - <<<'int main(void){long r; __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L)); return r > 0 ? 0 : 1;}' 2>/dev/null; then
  "$work/int80" && expect unhandled_insn 125 'cannot handle the instruction at 0x[0-9a-f]+ \(bytes: cd 80\): int 0x80' -- "$LURK" run -- "$work/int80"
else
  echo "FAIL unhandled_insn: cannot build the test program"; fail=$((fail + 1))
fi

# Children are followed into exec, unless --no-follow; either way lurk's
# variables never show in the program's environment. (Exec chains only: a
# shell pipeline forks and takes SIGCHLD, which needs issue #3.)
# A tool reports from the exec'd image only when lurk followed it there.
expect follow 0 "^inscount: [0-9,]+ instructions" -- "$LURK" run -t inscount -- /usr/bin/env /bin/true
expect no_follow 0 EMPTY -- "$LURK" run --no-follow -t inscount -- /usr/bin/env /bin/true
# With --preload, liblurk.so shows in the followed child's maps (from the
# first instruction, lurk hides its mappings there).
expect follow_preload 0 EMPTY -- "$LURK" run --preload -- /usr/bin/env /bin/grep -c liblurk /proc/self/maps
if [ "$(cat "$work/out")" -gt 0 ]; then echo "PASS follow_child_instrumented"; pass=$((pass + 1));
else echo "FAIL follow_child_instrumented: liblurk mapped $(cat "$work/out") times in the exec'd child"; fail=$((fail + 1)); fi
expect no_follow_preload 1 EMPTY -- "$LURK" run --preload --no-follow -- /usr/bin/env /bin/grep -c liblurk /proc/self/maps
if [ "$(cat "$work/out")" = 0 ]; then echo "PASS no_follow_child_native"; pass=$((pass + 1));
else echo "FAIL no_follow_child_native: liblurk mapped $(cat "$work/out") times"; fail=$((fail + 1)); fi
expect follow_env 0 EMPTY -- "$LURK" run -- /usr/bin/env /usr/bin/env
if ! grep -q -e LURK_ -e liblurk "$work/out"; then echo "PASS follow_child_env_clean"; pass=$((pass + 1));
else echo "FAIL follow_child_env_clean: $(grep -e LURK_ -e liblurk "$work/out")"; fail=$((fail + 1)); fi

# Takeover: blocks of the exe's constructor, main and a callee were built.
if gcc -O1 -no-pie -o "$work/takeover" "$here/takeover.c"; then
  "$LURK" run --log debug --output "$work/take.log" -- "$work/takeover" >"$work/take.out"
  ok=1
  for f in takeover_ctor main takeover_helper; do
    addr=$(nm "$work/takeover" | awk -v f="$f" '$3 == f { sub(/^0+/, "", $1); print $1 }')
    if [ -z "$addr" ] || ! grep -q "block 0x$addr-" "$work/take.log"; then
      echo "FAIL takeover_$f: no block built at 0x$addr"; ok=0
    fi
  done
  if [ "$ok" = 1 ] && [ "$(cat "$work/take.out")" = 43 ]; then
    echo "PASS takeover (constructor, main and callee ran from the cache)"; pass=$((pass + 1))
  else
    fail=$((fail + 1))
  fi
else
  echo "FAIL takeover: cannot build the test program"; fail=$((fail + 1))
fi

# check NAME CONDITION-COMMAND... : a pass when the command succeeds.
check() {
  local name=$1; shift
  if "$@"; then echo "PASS $name"; pass=$((pass + 1)); else echo "FAIL $name"; fail=$((fail + 1)); fi
}
root=$(cd "$here/../.." && pwd)

# -- The command line as a user meets it ------------------------------------
expect help_run 0 EMPTY -- "$LURK" run --help
check help_run_text grep -q '^usage: lurk run' "$work/out"
expect help_run_anywhere 0 EMPTY -- "$LURK" run -t inscount --help
expect help_command 0 EMPTY -- "$LURK" help
check help_command_text grep -q 'lurk help \[SCRIPT\]' "$work/out"
expect unknown_top_option 2 "unknown option '--bogus'" -- "$LURK" --bogus
expect list 0 EMPTY -- "$LURK" list
# one line per script in scripts/, "NAME  first sentence of its header"
check list_one_line_each test "$(wc -l <"$work/out")" = "$(ls "$root"/scripts/*.lua | wc -l)"
check list_inscount_line grep -Eq '^inscount +count the instructions the program executes .*\.$' "$work/out"
expect list_extra_arg 2 "list takes no arguments" -- "$LURK" list x
expect help_script 0 EMPTY -- "$LURK" help inscount
# the script's leading comment lines, comment marks taken off
sed -n '/^--/!q; s/^---* \{0,1\}//; p' "$root/scripts/inscount.lua" >"$work/header"
check help_script_is_header cmp -s "$work/out" "$work/header"
expect help_missing_script 2 "cannot find script 'no-such-tool-xyz'" -- "$LURK" help no-such-tool-xyz
# lurk's options after SCRIPT are lurk's; every other word is the script's
expect eval_after_script 0 EMPTY -- "$LURK" run --output "$work/o1" "$root/spec/lua/args.lua" a -e 'print("after")' --verbose b -- /bin/true
check eval_after_script_order test "$(cat "$work/o1")" = "$(printf 'n=3\targ0=%s\targn=3\ta,--verbose,b\nafter' "$root/spec/lua/args.lua")"
expect unknown_option_before_script 2 "unknown option '--verbose'" -- "$LURK" run --verbose "$root/spec/lua/args.lua" -- /bin/true

# -- The man page -------------------------------------------------------------
check man_renders sh -c "MANWIDTH=80 man -l '$root/docs/lurk.1' 2>&1 | grep -q '^SYNOPSIS'"
check man_no_warnings sh -c "test -z \"\$(groff -man -Tutf8 -ww -z '$root/docs/lurk.1' 2>&1)\""

# -- Install to a prefix, run from PATH outside the source tree -----------------
build=$(cd "$(dirname "$LURK")" && pwd)
if [ -f "$build/CMakeCache.txt" ] && cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1; then
  # a script only the installed tree has proves share/lurk/scripts is used
  echo 'print("installed tool", #lurk.modules() > 0)' >"$work/prefix/share/lurk/scripts/marker.lua"
  ( cd / && env -i PATH="$work/prefix/bin:/usr/bin:/bin" lurk run inscount -t marker -- ls / ) >"$work/inst.out" 2>"$work/inst.err"
  check install_runs_from_path grep -Eq '^inscount: [0-9,]+ instructions$' "$work/inst.err"
  check install_uses_share_lurk grep -q '^installed tool	true$' "$work/inst.err"
  check install_program_output cmp -s "$work/inst.out" <(ls /)
  check install_man_page test -f "$work/prefix/share/man/man1/lurk.1"
  check install_list sh -c "env -i PATH='$work/prefix/bin:/usr/bin:/bin' lurk list | grep -q '^marker '"
else
  echo "FAIL install: cmake --install failed: $(tail -3 "$work/install.log" 2>/dev/null)"; fail=$((fail + 1))
fi

# -- print is buffered ------------------------------------------------------------
# 2 million lines, all there in order (timings: bench/README.md, "print")
expect print_2m 0 EMPTY -- "$LURK" run --output "$work/p.txt" -e 'for i = 1, 2000000 do print(i) end' -- /bin/true
check print_2m_complete cmp -s "$work/p.txt" <(seq 1 2000000)
expect io_write_2m_stderr 0 '^1$' -- "$LURK" run -e 'for i = 1, 1000000 do print(i) io.write(i + 1000000, "\n") end' -- /bin/true
check print_io_write_in_order awk 'NR % 2 == 1 && $0 != (NR + 1) / 2 { exit 1 } NR % 2 == 0 && $0 != NR / 2 + 1000000 { exit 1 }' "$work/err"
check print_io_write_complete test "$(wc -l <"$work/err")" = 2000000
# 100,000 prints make a handful of writes, not 100,000
if command -v strace >/dev/null; then
  strace -f -e trace=write -o "$work/strace.txt" "$LURK" run --output "$work/p2.txt" -e 'for i = 1, 100000 do print(i) end' -- /bin/true
  nw=$(grep -c 'write(' "$work/strace.txt")
  check "print_buffered ($nw writes for 100000 prints)" test "$nw" -lt 100
else
  echo "FAIL print_buffered: strace is missing"; fail=$((fail + 1))
fi
# flushed before a fork (the child does not write it again), at exec (the
# exec'd image runs the script again: two lines), at a death by signal
expect print_fork 0 EMPTY -- "$LURK" run --output "$work/f.txt" -e 'print("once")' -- /bin/sh -c '(echo x >/dev/null); echo done'
check print_fork_once test "$(grep -c once "$work/f.txt")" = 1
expect print_exec 0 EMPTY -- "$LURK" run --output "$work/x.txt" -e 'print("image")' -- /usr/bin/env /bin/true
check print_exec_twice test "$(grep -c image "$work/x.txt")" = 2
expect print_signal_death 139 EMPTY -- "$LURK" run --output "$work/s.txt" -e 'print("before death")' -- /bin/sh -c 'kill -SEGV $$'
check print_signal_flushed grep -q 'before death' "$work/s.txt"
# on stderr (shared with the program), script output and the program's own
# writes keep their order
expect print_order_with_program 0 'first
from program
last' -- "$LURK" run -e 'print("first") lurk.on("exit", function() print("last") end)' -- /bin/sh -c 'echo from program >&2'

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
