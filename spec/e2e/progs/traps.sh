# bash: pipes, trap on EXIT and on USR1 (sent with kill -USR1 $$),
# subshells, command substitution, a background job and wait.
set -u
trap 'echo "EXIT trap: status $?"' EXIT
usr1=0
trap 'usr1=$((usr1 + 1)); echo "USR1 trap ($usr1)"' USR1

echo "pipeline: $(seq 1 2000 | sort -rn | head -n 3 | tr '\n' ' ')"
words=$(printf '%s\n' delta alpha charlie bravo | sort | paste -sd, -)
echo "command substitution: $words"

kill -USR1 $$
kill -USR1 $$
echo "after two USR1: usr1=$usr1"

( cd /; echo "subshell in $PWD"; exit 3 )
echo "subshell status $?, still in ${PWD##*/}"
x=outer
( x=inner; echo "subshell sees x=$x" )
echo "parent still has x=$x"

(sleep 0.1; echo "background job done" >bg.out) &
bg=$!
sum=0
for i in $(seq 1 500); do sum=$((sum + i)); done
echo "foreground sum $sum"
wait "$bg"
echo "waited for the background job: status $?, it wrote: $(cat bg.out)"

(exit 7) & wait $!
echo "background exit status $?"

{ echo b; echo a; echo c; } | sort | while read -r l; do printf '[%s]' "$l"; done
echo
exit 4
