# bench/workloads.sh -- sourced by bench/run.sh and bench/memcheck.sh:
# run_wl NAME runs the workload NAME under the prefix R[] (none: native),
# with W (bench/workloads), B (build/bench), WD (its working directory)
# and CC1 set by the caller. LUA_ROUNDS: lua5.4's rounds (default 25).
run_wl() {
    case "$1" in
    python3) "${R[@]}" /usr/bin/python3 "$W/py_bench.py" 8 ;;
    perl)    "${R[@]}" /usr/bin/perl "$W/perl_bench.pl" 5 ;;
    lua5.4)  "${R[@]}" /usr/bin/lua5.4 "$W/lua_bench.lua" "${LUA_ROUNDS:-25}" ;;
    xz)      "${R[@]}" /usr/bin/xz -9 -T1 -c "$B/data/xz_input.bin" ;;
    sqlite3) "${R[@]}" /usr/bin/sqlite3 -batch -init /dev/null :memory: ".read $W/sqlite_bench.sql" ;;
    sort)    "${R[@]}" /usr/bin/sort --parallel=1 -S 256M -T "$WD" -k2,2 -k1,1n "$B/data/sort_input.txt" ;;
    fib)     "${R[@]}" "$B/bin/fib" 43 ;;
    loop)    "${R[@]}" "$B/bin/loop" 300 ;;
    cc1)     "${R[@]}" "$CC1" -quiet -O2 "$B/data/cc1_input.i" -o - ;;
    gzip)    "${R[@]}" /usr/bin/gzip -9 -c "$B/data/gzip_input.bin" >"$WD/data.gz" &&
             "${R[@]}" /usr/bin/gzip -d -c "$WD/data.gz" ;;
    startup) "${R[@]}" /bin/true ;;
    xz-T2)   "${R[@]}" /usr/bin/xz -9 -T2 --block-size=1536KiB -c "$B/data/xz_input.bin" ;;
    pthread) "${R[@]}" "$B/bin/pthread_kernel" 2 8000 ;;
    *) echo "run.sh: no such workload: $1" >&2; return 127 ;;
    esac
}
