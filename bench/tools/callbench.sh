# bench/tools/callbench.sh -- sourced by wrap.sh and call.sh: builds
# spec/lua/wrap_prog.c into build/bench/$1 (its `bench` mode loops calling
# the noinline function w_empty, whose address it puts in $addr), and
# defines t (CPU time of a command) and med (median of words on stdin).
# Expects here, root and the script's N, R, LURK.
out=$root/build/bench/$1; mkdir -p "$out"
gcc -O2 -no-pie -fno-pie -fno-ipa-ra -o "$out/wrap_prog" "$root/spec/lua/wrap_prog.c" -ldl -lpthread
addr=0x$(nm "$out/wrap_prog" | awk '$3 == "w_empty" {print $1}')
# CPU time (user + sys) of the command: on a shared machine, less noisy
# than wall-clock time, and the same thing for every side.
t() { local TIMEFORMAT='%3U + %3S'; { time "$@" >/dev/null; } 2>&1 | bc -l; }
med() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
