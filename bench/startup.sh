#!/bin/bash
# bench/startup.sh [LURK [N]]: the start-up cost of `/bin/true`, medians of N
# alternating runs (default 20) of native, lurk's default start, lurk
# --preload and DynamoRIO's null tool: wall ms (date) and CPU ms (perf stat's
# task-clock of the whole run, launcher included).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
L=${1:-$ROOT/build/lurk}; N=${2:-20}
D=${LURK_DYNAMORIO:-$ROOT/../shared/anchors/dynamorio}/bin64/drrun
command -v perf >/dev/null || { echo "startup.sh: perf not found (Debian linux-perf)" >&2; exit 2; }
sides=(native default preload)
[ -x "$D" ] && sides+=(dynamorio)
declare -A W C
for ((i = 0; i < N; i++)); do
  for side in "${sides[@]}"; do
    case $side in
      native) cmd=(/bin/true) ;;
      default) cmd=("$L" run -- /bin/true) ;;
      preload) cmd=("$L" run --preload -- /bin/true) ;;
      dynamorio) cmd=("$D" -quiet -- /bin/true) ;;
    esac
    C[$side]+=" $(perf stat -x, -e task-clock "${cmd[@]}" 2>&1 >/dev/null | grep task-clock | cut -d, -f1)"
    s=$(date +%s%N); "${cmd[@]}" >/dev/null 2>&1; e=$(date +%s%N)
    W[$side]+=" $(( (e - s) / 1000 ))"
  done
done
med() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "start-up of /bin/true, medians of $N alternating runs (load: $(cut -d' ' -f1-3 /proc/loadavg))"
for side in "${sides[@]}"; do
  printf "%-10s wall %8.2f ms   cpu %8.2f ms\n" "$side" "$(echo "${W[$side]}" | med | awk '{ print $1 / 1000 }')" \
    "$(echo "${C[$side]}" | med)"
done
