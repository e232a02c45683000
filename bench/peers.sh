# bench/peers.sh -- sourced by bench/run.sh for --peers, --tools, --compiled
# and --versus.
#
# --peers: for every workload, native, lurk (null tool), DynamoRIO (drrun,
# its null tool) and, with --valgrind, Valgrind's none tool, interleaved
# (native, lurk, DynamoRIO[, valgrind], repeated); one table of ratios to
# native and lurk/DynamoRIO, with geomeans over the workloads every side
# ran correctly.
# --tools: lurk's inscount, bbcount and countcalls beside DynamoRIO's
# samples of the same name; times, and the counts each side printed.
# DynamoRIO's samples print on stdout: their result blocks are cut out of
# the workload's stdout before it is compared with native.
# See bench/README.md, "Side by side with DynamoRIO".

[ -n "$DR" ] || DR=$(cd "$ROOT/.." && pwd)/shared/anchors/dynamorio
DRRUN=$DR/bin64/drrun
[ -x "$DRRUN" ] || die "DynamoRIO not found: $DRRUN (pass --dynamorio DIR)"
if [ $VALGRIND = 1 ]; then
    command -v valgrind >/dev/null || die "--valgrind: valgrind is not installed"
fi
PEER_TOOLS=(inscount bbcount countcalls)
for t in "${PEER_TOOLS[@]}"; do
    [ $TOOLS = 0 ] || [ -r "$DR/samples/bin64/lib$t.so" ] ||
        die "DynamoRIO sample missing: $DR/samples/bin64/lib$t.so"
done
LT_OUT=$B/run/lurk-tool.txt

# peer_prefix MODE: the command prefix R[] of a side other than native/lurk
peer_prefix() {
    case "$1" in
    dr) R=(timeout -k 10 "$TMO" "$DRRUN" -quiet --) ;;
    vg) R=(timeout -k 10 "$TMO" valgrind --tool=none -q --) ;;
    lt:*) rm -f "$LT_OUT"
          R=(timeout -k 10 "$TMO" "$LURK" run "${LURK_OPTS[@]}" --output "$LT_OUT" -t "${1#lt:}" --) ;;
    lp:*) rm -f "$LT_OUT"
          R=(timeout -k 10 "$TMO" "$LURK" run --preload "${LURK_OPTS[@]}" --output "$LT_OUT" -t "${1#lp:}" --) ;;
    dt:*) R=(timeout -k 10 "$TMO" "$DRRUN" -quiet -c "$DR/samples/bin64/lib${1#dt:}.so" --) ;;
    *) die "internal: no side $1" ;;
    esac
}

# peer_post MODE OUT: after a run, set COUNTS to what the side's counting
# tool printed ("" if none) and, for DynamoRIO's samples, cut their
# result blocks out of OUT (a thread's block lands where the thread
# exited; the process's at the end).
peer_post() {
    COUNTS=
    case "$1" in
    lt:inscount) COUNTS=$(sed -n 's/^inscount: \([0-9,]*\) instructions.*/\1/p' "$LT_OUT" 2>/dev/null |
                          tr -d , | awk '{ s += $1 } END { if (NR) print s }') ;;
    lt:bbcount) COUNTS=$(sed -n 's/^bbcount: \([0-9]*\) blocks executed.*/\1/p' "$LT_OUT" 2>/dev/null |
                         awk '{ s += $1 } END { if (NR) print s }') ;;
    lt:countcalls) COUNTS=$(sed -n 's/^countcalls: total, [0-9]* threads*: \([0-9]*\) direct calls, \([0-9]*\) indirect calls, \([0-9]*\) returns$/\1 \2 \3/p' \
                            "$LT_OUT" 2>/dev/null | awk '{ d += $1; i += $2; r += $3 } END { if (NR) print d, i, r }') ;;
    dt:*) COUNTS=$(perl -0777 -e '
            my ($tool, $f) = @ARGV;
            open(my $fh, "<:raw", $f) or exit 0; local $/; my $s = <$fh>; close $fh;
            my @c;
            if ($tool eq "inscount") {
                @c = ($1) if $s =~ s/Instrumentation results: (\d+) instructions executed\n\n?\z//;
            } elsif ($tool eq "bbcount") {
                @c = ($1) if $s =~ s/Instrumentation results:\n *(-?\d+) basic block executions\n *\d+ basic blocks needed flag saving\n *\d+ basic blocks did not\n\n?\z//;
            } elsif ($tool eq "countcalls") {
                $s =~ s/Thread \d+ exited - Instrumentation results:\n  saw \d+ direct calls\n  saw \d+ indirect calls\n  saw \d+ returns\n\n?//g;
                @c = ($1, $2, $3) if $s =~ s/Instrumentation results:\n  saw (\d+) direct calls\n  saw (\d+) indirect calls\n  saw (\d+) returns\n\n?\z//;
            }
            open($fh, ">:raw", $f) or die; print $fh $s; close $fh;
            print "@c\n" if @c;' "${1#dt:}" "$2") ;;
    esac
}

# side_status RC HASH REF: ok, WRONG, TIMEOUT or FAIL(rc=N)
side_status() {
    if [ "$1" = 124 ] || [ "$1" = 137 ]; then echo TIMEOUT
    elif [ "$1" != 0 ]; then echo "FAIL(rc=$1)"
    elif [ "$2" != "$3" ]; then echo WRONG
    else echo ok
    fi
}

geomean() { printf '%s\n' "$@" | awk 'NF { s += log($1); n++ } END { if (n) printf "%.3f", exp(s / n); else printf "n/a" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else printf "nan" }'; }

# native_ref NAME: the untimed native run whose output hash is the reference
native_ref() {
    run_once native "$1" "$B/logs/$1.native.out" "$B/logs/$1.native.err"
    REF=$HASH NATRC=$RC
}

declare -A NATMED

peers_null() {
    local sides=(lurk dr) s name reps div unit i st line
    [ $VALGRIND = 1 ] && sides+=(vg)
    local GL=() GD=() GV=() GLD=() nbad=0
    say "Null tool: native, lurk, DynamoRIO$([ $VALGRIND = 1 ] && echo ', Valgrind none') interleaved, $RUNS runs a side, median wall time"
    line=$(printf '%-9s %9s %8s %8s' workload 'native' 'lurk' 'DynamoRIO')
    [ $VALGRIND = 1 ] && line+=$(printf ' %8s' valgrind)
    say "$line$(printf ' %9s  %s' 'lurk/DR' status)"
    printf 'workload\tunit\tnative_median\tlurk_ratio\tdr_ratio\tvg_ratio\tlurk_over_dr\tstatus\tnative_runs\tlurk_runs\tdr_runs\tvg_runs\n' >"$B/peers.tsv"
    for name in "${SELECTED[@]}"; do
        reps=$RUNS unit=s div=1000000
        [ "$name" = startup ] && { reps=$STARTUP_REPS unit=ms div=1000; }
        declare -A T=() ST=()
        local nat=() nondet=0
        for s in "${sides[@]}"; do T[$s]= ST[$s]=ok; done
        rm -f "$B/logs/$name".*
        native_ref "$name"
        [ $NATRC = 0 ] || ST[native]="NATIVE-FAIL(rc=$NATRC)"
        for ((i = 1; i <= reps; i++)); do
            run_once native "$name" "$B/logs/$name.native.out" "$B/logs/$name.native.err"
            nat+=("$T_US")
            [ "${RSS_KB:-0}" -gt "${MEM[$name.native]:-0}" ] && MEM[$name.native]=$RSS_KB
            [ "$HASH" = "$REF" ] || nondet=1
            for s in "${sides[@]}"; do
                [ "${ST[$s]}" = ok ] || [ "${ST[$s]}" = WRONG ] || continue
                run_once "$s" "$name" "$B/logs/$name.$s.out" "$B/logs/$name.$s.err"
                T[$s]+=" $T_US"
                [ "${RSS_KB:-0}" -gt "${MEM[$name.$s]:-0}" ] && MEM[$name.$s]=$RSS_KB
                st=$(side_status "$RC" "$HASH" "$REF")
                [ "$st" = ok ] || ST[$s]=$st
            done
        done
        local nmed; nmed=$(median "${nat[@]}")
        NATMED[$name]=$nmed
        local r=() bad=() all_ok=1
        [ -n "${ST[native]:-}" ] && { bad+=("${ST[native]}"); all_ok=0; }
        [ $nondet = 1 ] && { bad+=("NONDET"); all_ok=0; }
        declare -A RA=()
        for s in "${sides[@]}"; do
            # shellcheck disable=SC2086
            RA[$s]=$(ratio "$(median ${T[$s]})" "$nmed")
            [ "${ST[$s]}" = ok ] || { bad+=("$s ${ST[$s]}"); all_ok=0; }
        done
        RA[ld]=$(ratio "${RA[lurk]}" "${RA[dr]}")
        line=$(printf '%-9s %8.3f%s %7.2fx %7.2fx' "$name" "$(awk -v n="$nmed" -v d="$div" 'BEGIN { print n / d }')" \
            "$([ $unit = ms ] && echo m || echo s)" "${RA[lurk]}" "${RA[dr]}")
        [ $VALGRIND = 1 ] && line+=$(printf ' %7.2fx' "${RA[vg]}")
        if [ $all_ok = 1 ]; then st=ok; else st="${bad[*]}  <-- excluded from geomeans"; fi
        say "$line$(printf ' %8.3f   %s' "${RA[ld]}" "$st")"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$unit" "$(awk -v n="$nmed" -v d="$div" 'BEGIN { printf "%.4f", n / d }')" \
            "${RA[lurk]}" "${RA[dr]}" "${RA[vg]:-}" "${RA[ld]}" "$(echo "$st" | sed 's/  <--.*//')" \
            "$(fmt_list "$div" "${nat[@]}")" "$(fmt_list "$div" ${T[lurk]})" "$(fmt_list "$div" ${T[dr]})" \
            "$([ $VALGRIND = 1 ] && fmt_list "$div" ${T[vg]})" >>"$B/peers.tsv"
        if [ $all_ok = 1 ] && [ "$name" != startup ]; then
            GL+=("${RA[lurk]}") GD+=("${RA[dr]}") GLD+=("${RA[ld]}")
            [ $VALGRIND = 1 ] && GV+=("${RA[vg]}")
        elif [ $all_ok = 0 ]; then nbad=$((nbad + 1)); fi
        unset T ST RA
    done
    line=$(printf '%-9s %9s %7sx %7sx' geomean '' "$(geomean "${GL[@]}")" "$(geomean "${GD[@]}")")
    [ $VALGRIND = 1 ] && line+=$(printf ' %7sx' "$(geomean "${GV[@]}")")
    say "$line$(printf ' %8s   over %d workloads (startup not included)%s' "$(geomean "${GLD[@]}")" "${#GL[@]}" \
        "$([ $nbad -gt 0 ] && echo ", $nbad excluded")")"
    say ""
    PEERS_BAD=$nbad
    [ $RSS = 1 ] && peers_rss
}

# --rss: the peak RSS table (highest of the runs, the largest process of
# the workload), lurk's limit (1.3 x native + 16 MiB), and lurk's code
# cache bytes from one more run with --stats (the sum of what its processes
# report there).
declare -A MEM
peers_rss() {
    local name lim cache st line
    say "Peak RSS (MiB, highest of the runs; the largest process), lurk's limit 1.3 x native + 16 MiB, lurk's code cache"
    say "$(printf '%-9s %8s %8s %8s %8s  %-5s %10s' workload native lurk DynamoRIO limit lurk 'cache(KiB)')"
    for name in "${SELECTED[@]}"; do
        [ "$name" = startup ] && continue
        lim=$(( ${MEM[$name.native]:-0} * 13 / 10 + 16384 ))
        st=ok; [ "${MEM[$name.lurk]:-0}" -le $lim ] || st=OVER
        cache=$( (R=("${LURK_PREFIX[@]:0:4}" "$LURK" run "${LURK_OPTS[@]}" --stats --output "$B/run/stats" --); : >"$B/run/stats"
                  WD=$B/run/stats.d; rm -rf "$WD"; mkdir -p "$WD"; cd "$B" && run_wl "$name") </dev/null >/dev/null 2>&1
                 awk '/cache bytes/ { s += $NF } END { printf "%d", s / 1024 }' "$B/run/stats")
        line=$(printf '%-9s %8.1f %8.1f %8.1f %8.1f  %-5s %10s' "$name" \
            "$(awk -v k="${MEM[$name.native]:-0}" 'BEGIN { print k / 1024 }')" "$(awk -v k="${MEM[$name.lurk]:-0}" 'BEGIN { print k / 1024 }')" \
            "$(awk -v k="${MEM[$name.dr]:-0}" 'BEGIN { print k / 1024 }')" "$(awk -v k="$lim" 'BEGIN { print k / 1024 }')" "$st" "$cache")
        say "$line"
    done
    say ""
}

# counts_agree TOOL WORKLOAD LURK_COUNTS DR_COUNTS -> agree, differ,
# missing or "n/a (...)".  Each count must be within 1% of the larger, or
# within 3x the difference the same tool shows on /bin/true (OFF[TOOL]:
# DynamoRIO counts from the first instruction of ld.so, lurk from
# liblurk's constructor, after ld.so has loaded and relocated the libraries).
declare -A OFF
counts_agree() {
    [ -n "$3" ] && [ -n "$4" ] || { echo "missing"; return; }
    case "$1:$2" in
    inscount:xz-T2|inscount:pthread|bbcount:xz-T2|bbcount:pthread)
        echo "n/a (DR racy)"; return ;;
    esac
    awk -v l="$3" -v d="$4" -v o="${OFF[$1]:-}" 'BEGIN { nl = split(l, a, " "); nd = split(d, b, " "); split(o, f, " "); ok = (nl == nd)
        for (i = 1; i <= nl; i++) { m = (b[i] > a[i] ? b[i] : a[i]); e = b[i] - a[i]; if (e < 0) e = -e
            if (e > 0.01 * m && e > 3 * f[i]) ok = 0 }
        print (ok ? "agree" : "differ") }'
}

# tool_offsets: OFF[TOOL] = |DynamoRIO - lurk| per count, on /bin/true
tool_offsets() {
    local t lc dc
    for t in "${PEER_TOOLS[@]}"; do
        ( R=(); peer_prefix "lt:$t"; cd "$B" && "${R[@]}" /bin/true ) </dev/null >/dev/null 2>&1
        peer_post "lt:$t" /dev/null; lc=$COUNTS
        ( R=(); peer_prefix "dt:$t"; cd "$B" && "${R[@]}" /bin/true ) </dev/null >"$B/run/true.dt" 2>/dev/null
        peer_post "dt:$t" "$B/run/true.dt"; dc=$COUNTS
        OFF[$t]=$(awk -v l="$lc" -v d="$dc" 'BEGIN { n = split(l, a, " "); split(d, b, " ")
            for (i = 1; i <= n; i++) { e = b[i] - a[i]; printf "%s%d", (i > 1 ? " " : ""), (e < 0 ? -e : e) } }')
        say "/bin/true $t: lurk $lc, DynamoRIO $dc: start-up difference ${OFF[$t]}"
    done
}

peers_tools() {
    local name t i st nat nmed
    local -A G=()
    say "Tools: lurk's inscount, bbcount, countcalls beside DynamoRIO's samples, $TOOL_RUNS run(s) a side, median wall time"
    say "(counts: lurk's and DynamoRIO's; diff = (DynamoRIO - lurk) / DynamoRIO of the first count;"
    say " agree = every count within 1% or within 3x its /bin/true difference; DR racy: DynamoRIO's"
    say " inscount and bbcount add to one global counter without a lock, losing counts with 2 threads;"
    say " DynamoRIO's bbcount prints the low 32 bits of its count: unwrapped to the value nearest lurk's)"
    tool_offsets
    say "$(printf '%-9s %-10s %8s %8s %8s %8s  %-28s %-28s %7s  %s' workload tool native lurk DynamoRIO lurk/DR 'lurk count' 'DynamoRIO count' diff status)"
    printf 'workload\ttool\tnative_median\tlurk_ratio\tdr_ratio\tlurk_over_dr\tlurk_counts\tdr_counts\tcounts\tstatus\n' >"$B/tools.tsv"
    for name in "${SELECTED[@]}"; do
        case "$name" in
        startup) continue ;;
        gzip) say "$(printf '%-9s %s' gzip "left out: DynamoRIO's samples print into stdout, which is gzip -d's input here")"; continue ;;
        esac
        native_ref "$name"
        nat=()
        for t in "${PEER_TOOLS[@]}"; do
            local lt=() dt=() lst=ok dst=ok lc= dc=
            for ((i = 1; i <= TOOL_RUNS; i++)); do
                if [ -z "${NATMED[$name]:-}" ]; then
                    run_once native "$name" "$B/logs/$name.native.out" "$B/logs/$name.native.err"
                    nat+=("$T_US")
                fi
                run_once "lt:$t" "$name" "$B/logs/$name.lt-$t.out" "$B/logs/$name.lt-$t.err"
                lt+=("$T_US") lc=$COUNTS
                st=$(side_status "$RC" "$HASH" "$REF"); [ "$st" = ok ] || lst=$st
                cp "$LT_OUT" "$B/logs/$name.lt-$t.tool" 2>/dev/null
                run_once "dt:$t" "$name" "$B/logs/$name.dt-$t.out" "$B/logs/$name.dt-$t.err"
                dt+=("$T_US") dc=$COUNTS
                # DynamoRIO's bbcount prints its 64-bit count with "%10d":
                # the low 32 bits, signed.  Unwrap to the value nearest lurk's.
                if [ "$t" = bbcount ] && [ -n "$dc" ] && [ -n "$lc" ]; then
                    dc=$(awk -v p="$dc" -v l="$lc" 'BEGIN { m = 4294967296; u = p % m; if (u < 0) u += m
                        k = int((l - u) / m + 0.5); if (k < 0) k = 0; printf "%.0f", u + k * m }')
                fi
                st=$(side_status "$RC" "$HASH" "$REF"); [ "$st" = ok ] || dst=$st
            done
            if [ -n "${NATMED[$name]:-}" ]; then nmed=${NATMED[$name]}; else nmed=$(median "${nat[@]}"); fi
            local lr dr ld agree diff
            lr=$(ratio "$(median "${lt[@]}")" "$nmed") dr=$(ratio "$(median "${dt[@]}")" "$nmed")
            ld=$(ratio "$lr" "$dr")
            agree=$(counts_agree "$t" "$name" "$lc" "$dc")
            diff=$(awk -v l="${lc%% *}" -v d="${dc%% *}" 'BEGIN { if (d > 0) printf "%+.2f%%", 100 * (d - l) / d; else print "-" }')
            st=ok
            [ $NATRC = 0 ] || st="NATIVE-FAIL(rc=$NATRC)"
            [ "$lst" = ok ] || st="lurk $lst"
            [ "$dst" = ok ] || st="$([ "$st" = ok ] || echo "$st, ")DynamoRIO $dst"
            [ "$agree" = differ ] || [ "$agree" = missing ] && st="$([ "$st" = ok ] || echo "$st, ")counts $agree"
            if [ "$st" = ok ] || [ "$st" = "counts differ" ]; then
                G[$t.l]+=" $lr" G[$t.d]+=" $dr" G[$t.ld]+=" $ld"
            else st="$st  <-- excluded from geomeans"; fi
            say "$(printf '%-9s %-10s %7.3fs %7.2fx %7.2fx %8.3f  %-28s %-28s %7s  %s' "$name" "$t" \
                "$(awk -v n="$nmed" 'BEGIN { print n / 1e6 }')" "$lr" "$dr" "$ld" "$lc" "$dc" "$diff" \
                "$(case "$agree" in agree) echo "$st" | sed 's/^ok$/ok, counts agree/' ;; n/a*) echo "$st, counts $agree" ;; *) echo "$st" ;; esac)")"
            printf '%s\t%s\t%.4f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$t" "$(awk -v n="$nmed" 'BEGIN { print n / 1e6 }')" \
                "$lr" "$dr" "$ld" "$lc" "$dc" "$agree" "${st%%  <--*}" >>"$B/tools.tsv"
        done
    done
    for t in "${PEER_TOOLS[@]}"; do
        # shellcheck disable=SC2086
        say "$(printf 'geomean   %-10s %8s %7sx %7sx %8s' "$t" '' "$(geomean ${G[$t.l]:-})" "$(geomean ${G[$t.d]:-})" "$(geomean ${G[$t.ld]:-})")"
    done
    say ""
}

# --compiled: lurk's null tool beside the tools whose handlers are compiled
# (inscount, opcodes, memtrace's summary), interleaved with native; ratios
# to native, and each tool's time over the null tool's (issue #12).
COMPILED_TOOLS=(null inscount opcodes memtrace=top=0)
peers_compiled() {
    local name t i st
    local -A G=() GN=()
    for t in "${COMPILED_TOOLS[@]}"; do G[$t]= GN[$t]=; done
    say "Compiled handlers: native and lurk's ${COMPILED_TOOLS[*]} interleaved, $RUNS run(s) a side, median wall time"
    say "(xN: time / native; /null: time / the null tool's time)"
    say "$(printf '%-9s %9s %8s %8s %7s %8s %7s %9s %7s  %s' workload native null inscount /null opcodes /null memtrace /null status)"
    printf 'workload\tnative_median\tnull_ratio\tinscount_ratio\topcodes_ratio\tmemtrace_ratio\tstatus\n' >"$B/compiled.tsv"
    for name in "${SELECTED[@]}"; do
        [ "$name" = startup ] && continue
        native_ref "$name"
        local nat=() bad=()
        local -A T=() S=()
        for ((i = 1; i <= RUNS; i++)); do
            run_once native "$name" "$B/logs/$name.native.out" "$B/logs/$name.native.err"
            nat+=("$T_US")
            [ "${RSS_KB:-0}" -gt "${MEM[$name.native]:-0}" ] && MEM[$name.native]=$RSS_KB
            for t in "${COMPILED_TOOLS[@]}"; do
                run_once "lt:$t" "$name" "$B/logs/$name.lt-${t%%=*}.out" "$B/logs/$name.lt-${t%%=*}.err"
                T[$t]+=" $T_US"
                st=$(side_status "$RC" "$HASH" "$REF"); [ "$st" = ok ] || S[$t]=$st
            done
        done
        local nmed; nmed=$(median "${nat[@]}")
        local -A RR=()
        for t in "${COMPILED_TOOLS[@]}"; do
            # shellcheck disable=SC2086
            RR[$t]=$(ratio "$(median ${T[$t]})" "$nmed")
            [ -z "${S[$t]:-}" ] || bad+=("${t%%=*} ${S[$t]}")
        done
        local n=${RR[null]} st=ok
        [ ${#bad[@]} = 0 ] || st="${bad[*]}  <-- left out of that tool's geomean"
        say "$(printf '%-9s %8.3fs %7.2fx %7.2fx %7.3f %7.2fx %7.3f %8.2fx %7.3f  %s' "$name" \
            "$(awk -v n="$nmed" 'BEGIN { print n / 1000000 }')" "$n" \
            "${RR[inscount]}" "$(ratio "${RR[inscount]}" "$n")" "${RR[opcodes]}" "$(ratio "${RR[opcodes]}" "$n")" \
            "${RR[memtrace=top=0]}" "$(ratio "${RR[memtrace=top=0]}" "$n")" "$st")"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$nmed" "$n" "${RR[inscount]}" "${RR[opcodes]}" \
            "${RR[memtrace=top=0]}" "$st" >>"$B/compiled.tsv"
        # per tool, over the workloads where it and the null tool ran correctly
        if [ -z "${S[null]:-}" ]; then
            for t in "${COMPILED_TOOLS[@]}"; do
                [ -z "${S[$t]:-}" ] || continue
                G[$t]+=" ${RR[$t]}"; GN[$t]+=" $(ratio "${RR[$t]}" "$n")"
            done
        fi
        unset T S RR
    done
    # shellcheck disable=SC2086
    say "$(printf '%-9s %9s %7sx %7sx %7s %7sx %7s %8sx %7s' geomean '' "$(geomean ${G[null]})" \
        "$(geomean ${G[inscount]})" "$(geomean ${GN[inscount]})" "$(geomean ${G[opcodes]})" "$(geomean ${GN[opcodes]})" \
        "$(geomean ${G[memtrace=top=0]})" "$(geomean ${GN[memtrace=top=0]})")"
    say ""
}

# --versus TOOL: lurk's null tool and TOOL interleaved with native (native,
# null, TOOL, repeated); ratios to native and TOOL's time over the null
# tool's, geomeans over the workloads both ran correctly (issue #15:
# shepherd's target is <= 1.15x the null tool). TOOL preload:T is T run with
# --preload (preload:null: LD_PRELOAD injection's time over the default
# start's, from the first instruction).
peers_versus() {
    local name i st nmed rn rv side=lt:$VERSUS
    local G0= G1= GN=
    [[ $VERSUS == preload:* ]] && side=lp:${VERSUS#preload:}
    say "Versus: native, lurk's null tool and $VERSUS interleaved, $RUNS run(s) a side, median wall time"
    say "$(printf '%-9s %9s %8s %8s %7s  %s' workload native null "${VERSUS%%=*}" /null status)"
    for name in "${SELECTED[@]}"; do
        [ "$name" = startup ] && continue
        native_ref "$name"
        local nat=() tn= tv= sn=ok sv=ok
        for ((i = 1; i <= RUNS; i++)); do
            run_once native "$name" "$B/logs/$name.native.out" "$B/logs/$name.native.err"
            nat+=("$T_US")
            run_once lt:null "$name" "$B/logs/$name.lt-null.out" "$B/logs/$name.lt-null.err"
            tn+=" $T_US"; st=$(side_status "$RC" "$HASH" "$REF"); [ "$st" = ok ] || sn=$st
            run_once "$side" "$name" "$B/logs/$name.lt-versus.out" "$B/logs/$name.lt-versus.err"
            tv+=" $T_US"; st=$(side_status "$RC" "$HASH" "$REF"); [ "$st" = ok ] || sv=$st
        done
        nmed=$(median "${nat[@]}")
        # shellcheck disable=SC2086
        rn=$(ratio "$(median $tn)" "$nmed"); rv=$(ratio "$(median $tv)" "$nmed")
        st=ok; [ "$sn $sv" = "ok ok" ] || st="null $sn, ${VERSUS%%=*} $sv  <-- left out of the geomean"
        say "$(printf '%-9s %8.3fs %7.2fx %7.2fx %7.3f  %s' "$name" "$(awk -v n="$nmed" 'BEGIN { print n / 1000000 }')" \
            "$rn" "$rv" "$(ratio "$rv" "$rn")" "$st")"
        [ "$st" = ok ] && { G0+=" $rn"; G1+=" $rv"; GN+=" $(ratio "$rv" "$rn")"; }
    done
    # shellcheck disable=SC2086
    say "$(printf '%-9s %9s %7sx %7sx %7s' geomean '' "$(geomean $G0)" "$(geomean $G1)" "$(geomean $GN)")"
    say ""
}

peers_main() {
    say "lurk benchmark, side by side  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    say "lurk:      ${LURK_CMD[*]}"
    say "DynamoRIO: $DRRUN -quiet ($(cat "$DR/VERSION" 2>/dev/null || basename "$DR"))"
    [ $VALGRIND = 1 ] && say "valgrind:  $(valgrind --version) --tool=none -q"
    say "host:      $(uname -r), $(nproc) cpus, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
    say "git:       $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo ' (dirty)')"
    say ""
    PEERS_BAD=0
    [ $PEERS = 1 ] && peers_null
    [ $TOOLS = 1 ] && peers_tools
    [ $COMPILED = 1 ] && peers_compiled
    [ -n "$VERSUS" ] && peers_versus
    say "TSV: $([ $PEERS = 1 ] && echo "$B/peers.tsv ")$([ $TOOLS = 1 ] && echo "$B/tools.tsv")"
    say "logs: $B/logs/"
    [ "$PEERS_BAD" = 0 ] || return 1
    return 0
}
