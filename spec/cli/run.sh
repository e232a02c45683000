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
  expect static_refused 126 "statically linked" -- "$LURK" run -- "$work/static"
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
  "$work/int80" && expect unhandled_insn 125 'cannot handle the instruction at 0x[0-9a-f]+ \(bytes: cd 80\): int n' -- "$LURK" run -- "$work/int80"
else
  echo "FAIL unhandled_insn: cannot build the test program"; fail=$((fail + 1))
fi

# Children are followed into exec, unless --no-follow; either way lurk's
# variables never show in the program's environment. (Exec chains only: a
# shell pipeline forks and takes SIGCHLD, which needs issue #3.)
expect follow 0 EMPTY -- "$LURK" run -- /usr/bin/env /bin/grep -c liblurk /proc/self/maps
if [ "$(cat "$work/out")" -gt 0 ]; then echo "PASS follow_child_instrumented"; pass=$((pass + 1));
else echo "FAIL follow_child_instrumented: liblurk mapped $(cat "$work/out") times in the exec'd child"; fail=$((fail + 1)); fi
expect no_follow 1 EMPTY -- "$LURK" run --no-follow -- /usr/bin/env /bin/grep -c liblurk /proc/self/maps
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

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
