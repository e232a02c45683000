#!/usr/bin/env bash
# lurk end-to-end correctness runner.
#
#   spec/e2e/run.sh [--lurk PATH] [--filter REGEX] [--list] [options]
#
# Runs every case of spec/e2e/cases.list natively and under `LURK run --`
# with the same cwd, environment and stdin, and compares stdout (always),
# the exit status (always) and stderr (unless a case is flagged `nostderr`).  See
# spec/e2e/README.md for the case format.
#
# Options:
#   --lurk PATH      lurk binary (default: build/lurk at the repo root)
#   --filter REGEX   only cases whose name matches REGEX (bash =~, unanchored)
#   --list           list the cases (name and flags) and exit
#   --out DIR        work/result dir (default: build/e2e-out)
#   --bin DIR        where the C test programs are built (default: build/e2e-bin)
#   --timeout SECS   per-run time limit unless a case sets timeout= (default 120)
#   --lurk-arg ARG   extra argument for `lurk run`, before `--` (repeatable)
#   --keep           keep the outputs of passing cases too (build/e2e-out/NAME/)
#   -h, --help       this text
#
# Output: one line per case (PASS/FAIL/XFAIL/XPASS), then exactly
#   e2e: N passed, M failed, K xfail
# Exit status is non-zero iff some case FAILed or XPASSed (2 on setup errors).
set -u -o pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

lurk="$root/build/lurk"
filter=''
list_only=0
out="$root/build/e2e-out"
bin="$root/build/e2e-bin"
default_timeout=120
lurk_extra=()
keep=0
cases_file="$here/cases.list"

usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; }

while (($#)); do
    case $1 in
        --lurk) lurk=${2:?--lurk needs a path}; shift 2 ;;
        --lurk=*) lurk=${1#*=}; shift ;;
        --filter) filter=${2?--filter needs a regex}; shift 2 ;;
        --filter=*) filter=${1#*=}; shift ;;
        --list) list_only=1; shift ;;
        --keep) keep=1; shift ;;
        --out) out=${2:?--out needs a dir}; shift 2 ;;
        --bin) bin=${2:?--bin needs a dir}; shift 2 ;;
        --timeout) default_timeout=${2:?--timeout needs seconds}; shift 2 ;;
        --lurk-arg) lurk_extra+=("${2?--lurk-arg needs an argument}"); shift 2 ;;
        --cases) cases_file=${2:?--cases needs a file}; shift 2 ;;   # for testing the runner
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

die() { echo "run.sh: $*" >&2; exit 2; }

# ---------------------------------------------------------------- parse cases
names=() flags_of=() cmds=()
declare -A seen=()
trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; s=${s%"${s##*[![:space:]]}"}; printf '%s' "$s"; }

[[ -r $cases_file ]] || die "cannot read $cases_file"
lineno=0 pending='' pending_line=0
while IFS= read -r line || [[ -n $line ]]; do
    lineno=$((lineno + 1))
    if [[ -n $pending ]]; then line="$pending $(trim "$line")"; else pending_line=$lineno; fi
    pending=''
    if [[ $line == *\\ ]]; then pending=${line%\\}; continue; fi
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line == *'|'*'|'* ]] || die "$cases_file:$pending_line: expected 'name | flags | command'"
    name=$(trim "${line%%|*}")
    rest=${line#*|}
    flags=$(trim "${rest%%|*}")
    cmd=$(trim "${rest#*|}")
    [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "$cases_file:$pending_line: bad case name '$name'"
    [[ -z ${seen[$name]:-} ]] || die "$cases_file:$pending_line: duplicate case name '$name'"
    [[ -n $cmd ]] || die "$cases_file:$pending_line: empty command"
    seen[$name]=1
    names+=("$name") flags_of+=("$flags") cmds+=("$cmd")
done <"$cases_file"
[[ -z $pending ]] || die "$cases_file: last line ends with a backslash"

# parse_flags FLAGS (stderr is compared unless `nostderr`): sets f_stderr f_script f_stdin f_exit f_timeout f_xfail f_tool
parse_flags() {
    f_stderr=1 f_script=0 f_stdin=/dev/null f_exit=0 f_timeout=$default_timeout f_xfail='' f_tool=''
    local IFS=, f
    for f in $1; do
        f=$(trim "$f")
        case $f in
            '') ;;
            stderr) f_stderr=1 ;;
            nostderr) f_stderr=0 ;;
            script) f_script=1 ;;
            stdin=?*) f_stdin=${f#stdin=} ;;
            exit=*) f_exit=${f#exit=}; [[ $f_exit =~ ^[0-9]+$ ]] || return 1 ;;
            timeout=*) f_timeout=${f#timeout=}; [[ $f_timeout =~ ^[0-9]+$ ]] || return 1 ;;
            xfail=?*) f_xfail=${f#xfail=} ;;
            xfail-preload=?*) [[ " ${lurk_extra[*]} " != *" --preload "* ]] || f_xfail=${f#xfail-preload=} ;;
            tool=?*) f_tool=${f#tool=}; [[ -f $here/progs/$f_tool ]] || return 1 ;;
            *) return 1 ;;
        esac
    done
}
for i in "${!names[@]}"; do
    parse_flags "${flags_of[$i]}" || die "case ${names[$i]}: bad flags '${flags_of[$i]}'"
done

selected=()
for i in "${!names[@]}"; do
    if [[ -z $filter || ${names[$i]} =~ $filter ]]; then selected+=("$i"); fi
done

if ((list_only)); then
    for i in "${selected[@]}"; do
        if [[ -n ${flags_of[$i]} ]]; then printf '%-22s [%s]\n' "${names[$i]}" "${flags_of[$i]}"
        else printf '%s\n' "${names[$i]}"; fi
    done
    exit 0
fi

# ---------------------------------------------------------------- setup
finish() {  # finish PASSED FAILED XFAIL [RC]
    echo "e2e: $1 passed, $2 failed, $3 xfail"
    exit "${4:-$(( $2 > 0 ? 1 : 0 ))}"
}
setup_error() {
    echo "run.sh: $*" >&2
    finish 0 "${#selected[@]}" 0 2
}

case $lurk in /*) ;; *) lurk="$PWD/$lurk" ;; esac
[[ -f $lurk && -x $lurk ]] || setup_error "lurk binary not found or not executable: $lurk (build it, or pass --lurk PATH)"

mkdir -p "$out" "$bin" || setup_error "cannot create $out / $bin"
out=$(cd "$out" && pwd)
bin=$(cd "$bin" && pwd)
"$here/build.sh" "$bin" >&2 || setup_error "building the C test programs failed (see above)"

work="$out/.work"             # scratch: fixtures, cwd, home, tmp
fix="$work/fixtures"
cwd="$work/cwd"
fixed_date='2001-02-03 04:05:06 UTC'

prepare_fixtures() {
    rm -rf "$work" && mkdir -p "$fix" || return 1
    (
        set -e
        umask 022
        cd "$fix"
        cp -R "$here"/fixtures/* .
        # ls tree: fixed contents, modes and times
        mkdir -p tree/sub/deeper
        printf 'hello\n' >tree/a.txt
        awk 'BEGIN { for (i = 0; i < 12345; i++) printf "%c", 65 + (i * 7) % 26 }' >tree/b.bin
        printf '#!/bin/sh\necho hi\n' >tree/exec.sh
        printf 'spaces\n' >'tree/with space.txt'
        : >tree/empty
        printf 'hidden\n' >tree/.hidden
        printf 'deep\n' >tree/sub/deep.txt
        printf 'deeper\n' >tree/sub/deeper/x
        ln -s a.txt tree/link
        ln -s ../no-such-target tree/sub/dangling
        chmod 644 tree/a.txt 'tree/with space.txt' tree/.hidden
        chmod 600 tree/b.bin
        chmod 755 tree/exec.sh tree tree/sub/deeper
        chmod 444 tree/empty
        chmod 640 tree/sub/deep.txt tree/sub/deeper/x
        chmod 750 tree/sub
        touch -d '1999-12-31 23:59:59 UTC' tree/a.txt
        touch -d '2020-02-29 12:00:00 UTC' tree/b.bin tree/sub/deep.txt
        touch -d '2010-06-15 08:30:00 UTC' tree/exec.sh 'tree/with space.txt' tree/.hidden tree/sub/deeper/x
        touch -d '1970-01-02 00:00:00 UTC' tree/empty
        touch -h -d '2015-05-05 05:05:05 UTC' tree/link tree/sub/dangling
        touch -d '2021-01-01 00:00:00 UTC' tree/sub/deeper tree/sub tree
        # ~1 MB of text to sort: "word number word" lines, fixed seed
        awk 'BEGIN {
            srand(42)
            split("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu", w, " ")
            for (i = 0; i < 50000; i++)
                printf "%s%d %d %s\n", w[int(rand() * 12) + 1], int(rand() * 1000),
                       int(rand() * 1000000) - 500000, w[int(rand() * 12) + 1]
        }' >sort.txt
        # ~2 MB of semi-compressible data for xz/gzip round trips
        awk 'BEGIN {
            srand(7)
            for (i = 0; i < 60000; i++) {
                printf "%08d %s %.6f ", i, substr("the quick brown fox jumps over the lazy dog", int(rand() * 30) + 1, 8), rand()
                for (j = 0; j < 3; j++) printf "%c", 33 + int(rand() * 90)
                printf "\n"
            }
        }' >data.bin
        touch -d "$fixed_date" . 
    ) || return 1
}
prepare_fixtures || setup_error "preparing fixtures in $fix failed"

# The environment every run gets (native and lurk alike), replacing the
# caller's.  Programs see exactly this (env -i ... is used to exec them).
run_env=(
    "PATH=/usr/local/bin:/usr/bin:/bin"
    "HOME=$work/home"
    "TMPDIR=$work/tmp"
    "PWD=$cwd"
    "LANG=C.UTF-8"
    "TZ=UTC"
    "TERM=dumb"
    "USER=e2e"
    "LOGNAME=e2e"
    "SHELL=/bin/bash"
    "E2E_SPACES=a  b   c "
    "E2E_EMPTY="
    "E2E_UTF8=héllo wörld ✓"
    "E2E_SPECIAL=\$HOME;'\"\`|&<>*?=x"
    "E2E_LONG=$(printf 'x%.0s' {1..2000})"
)
# LURK_* variables of the caller are passed on to lurk (only): lurk is
# expected to keep them away from the program.
lurk_env=()
while IFS= read -r v; do lurk_env+=("$v"); done < <(env | grep -E '^LURK_[A-Za-z0-9_]*=' || true)

q() { printf '%q' "$1"; }
qa() { local a s=''; for a in "$@"; do s+=" $(q "$a")"; done; printf '%s' "$s"; }

# make_script MODE CMD SCRIPTMODE LOG -> the bash -c text for one run
make_script() {
    local mode=$1 cmd=$2 script=$3 log=$4 prefix='' env_words
    env_words=$(qa "${run_env[@]}")
    if [[ $mode == lurk ]]; then
        prefix="$(qa "${lurk_env[@]}") $(q "$lurk") run --output $(q "$log")$(qa "${lurk_extra[@]}")"
        [[ -n $f_tool ]] && prefix+=" $(q "$here/progs/$f_tool")"
        prefix+=" --"
    fi
    printf 'PROGS=%s BIN=%s FIX=%s\n' "$(q "$here/progs")" "$(q "$bin")" "$(q "$fix")"
    printf 'set -o pipefail\n'
    printf 'lurk() { /usr/bin/env -i%s %s "$@"; }\n' "$env_words" "$prefix"
    if ((script)); then
        printf '%s\n' "$cmd"
    else
        printf 'exec /usr/bin/env -i%s %s %s\n' "$env_words" "$prefix" "$cmd"
    fi
}

now() { printf '%s' "${EPOCHREALTIME/[.,]/}"; }          # microseconds
secs() { printf '%d.%02d' $(($1 / 1000000)) $(($1 % 1000000 / 10000)); }

# run_one MODE DIR CMD: runs one side; sets r_status r_elapsed (us)
run_one() {
    local mode=$1 d=$2 cmd=$3 t0 t1
    rm -rf "$cwd" "$work/home" "$work/tmp"
    cp -a "$fix" "$cwd" && mkdir -p "$work/home" "$work/tmp" && touch -d "$fixed_date" "$cwd" ||
        { r_status=255 r_elapsed=0; return; }
    make_script "$mode" "$cmd" "$f_script" "$d/lurk.log" >"$d/$mode.sh"
    local stdin=$f_stdin
    [[ $stdin == /* ]] || stdin="$cwd/$stdin"
    t0=$(now)
    {   # (the outer redirection silences bash's "Segmentation fault" notices)
        (
            cd "$cwd" || exit 255
            exec /usr/bin/timeout -k 5 "$f_timeout" /usr/bin/env -i "${run_env[@]}" /bin/bash -c "$(cat "$d/$mode.sh")" e2e
        ) <"$stdin" >"$d/$mode.stdout" 2>"$d/$mode.stderr"
        r_status=$?
    } 2>/dev/null
    t1=$(now)
    r_elapsed=$((t1 - t0))
    echo "$r_status" >"$d/$mode.status"
}

timed_out() {  # timed_out STATUS ELAPSED_US
    [[ $1 == 124 || $1 == 137 ]] && (($2 >= f_timeout * 1000000 - 500000))
}

show_failure() {  # show_failure DIR
    local d=$1 rel=${1#"$root"/}
    echo "  outputs: $rel/"
    if ! cmp -s "$d/native.stdout" "$d/lurk.stdout"; then
        echo "  stdout diff (native vs lurk, first lines):"
        diff -a -u --label native --label lurk "$d/native.stdout" "$d/lurk.stdout" | head -n 12 | cut -c1-200 | sed 's/^/    /'
    fi
    if ((f_stderr)) && ! cmp -s "$d/native.stderr" "$d/lurk.stderr"; then
        echo "  stderr diff (native vs lurk, first lines):"
        diff -a -u --label native --label lurk "$d/native.stderr" "$d/lurk.stderr" | head -n 12 | cut -c1-200 | sed 's/^/    /'
    fi
    if [[ -s $d/lurk.stderr ]]; then
        echo "  lurk-run stderr (last lines):"
        tail -n 8 "$d/lurk.stderr" | cut -c1-200 | sed 's/^/    /'
    fi
    if [[ -s $d/lurk.log ]]; then
        echo "  lurk --output log (last lines):"
        tail -n 8 "$d/lurk.log" | cut -c1-200 | sed 's/^/    /'
    fi
}

# ---------------------------------------------------------------- run
passed=0 failed=0 xfailed=0
((${#selected[@]})) || echo "run.sh: no case matches filter '$filter'" >&2

for i in "${selected[@]}"; do
    name=${names[$i]} cmd=${cmds[$i]}
    parse_flags "${flags_of[$i]}"
    d="$out/$name"
    rm -rf "$d" && mkdir -p "$d"

    run_one native "$d" "$cmd"; n_status=$r_status n_time=$r_elapsed
    run_one lurk "$d" "$cmd"; l_status=$r_status l_time=$r_elapsed

    problems=()
    if timed_out "$n_status" "$n_time"; then
        problems+=("native run timed out after ${f_timeout}s")
    elif [[ $n_status != "$f_exit" ]]; then
        problems+=("native exit $n_status, case expects $f_exit (broken case or fixture?)")
    fi
    if timed_out "$l_status" "$l_time"; then
        problems+=("timeout after ${f_timeout}s")
    elif [[ $n_status != "$l_status" ]]; then
        problems+=("exit $n_status vs $l_status")
    fi
    cmp -s "$d/native.stdout" "$d/lurk.stdout" || problems+=("stdout differs")
    if ((f_stderr)) && ! cmp -s "$d/native.stderr" "$d/lurk.stderr"; then problems+=("stderr differs"); fi

    times="native $(secs "$n_time")s, lurk $(secs "$l_time")s"
    if [[ -n $f_xfail ]]; then
        if ((${#problems[@]})); then
            xfailed=$((xfailed + 1))
            echo "XFAIL $name (expected: $f_xfail)"
        else
            failed=$((failed + 1))
            echo "XPASS $name ($times; marked xfail: $f_xfail -- drop the xfail flag)"
        fi
    elif ((${#problems[@]} == 0)); then
        passed=$((passed + 1))
        echo "PASS $name ($times)"
        ((keep)) || rm -rf "$d"
    else
        failed=$((failed + 1))
        msg=$(printf '%s, ' "${problems[@]}")
        echo "FAIL $name: ${msg%, } ($times)"
        show_failure "$d"
    fi
done
rm -rf "$cwd" "$work/home" "$work/tmp"

finish "$passed" "$failed" "$xfailed"
