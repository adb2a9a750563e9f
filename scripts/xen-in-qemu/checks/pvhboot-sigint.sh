# SIGINT in the middle of a boot: pvhboot says so, exits 1, and its domain is gone.
# (Run by the dom0 runner in the job directory; the environment as checks/lib.sh says.)
. /harness/checks/lib.sh
pvhboot run fw.elf --memory 256 --name "$NAME" --expect 'never printed' --timeout "$TIMEOUT" --console-log console.pvhboot &
p=$!
sleep "$(scaled 4)"
kill -INT $p
wait $p
rc=$?
echo "pvhboot exited with $rc after SIGINT"
if xl domid "$NAME" >/dev/null 2>&1; then echo "domain $NAME left behind"; exit 1; fi
[ "$rc" = 1 ]
