# SIGINT in the middle of a boot: pvhboot says so, exits 1, and its domain is gone.
# (Run by the dom0 runner in the job directory; NAME, TIMEOUT, FACTOR100 in the environment.)
pvhboot run fw.elf --memory 256 --name "$NAME" --expect 'never printed' --timeout "$TIMEOUT" --console-log console.pvhboot &
p=$!
sleep $(( 4 * FACTOR100 / 100 ))
kill -INT $p
wait $p
rc=$?
echo "pvhboot exited with $rc after SIGINT"
if xl domid "$NAME" >/dev/null 2>&1; then echo "domain $NAME left behind"; exit 1; fi
[ "$rc" = 1 ]
