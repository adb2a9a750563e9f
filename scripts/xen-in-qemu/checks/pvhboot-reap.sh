# A pvhboot killed with SIGKILL cannot destroy its domain; it leaves an owner record that
# `pvhboot reap` finds unlocked, and the domain (with the recorded handle) is destroyed.
pvhboot run fw.elf --memory 256 --name "$NAME" --expect 'never printed' --timeout "$TIMEOUT" --console-log console.pvhboot &
p=$!
i=0
while ! xl domid "$NAME" >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -gt 100 ] && { echo "the domain never appeared"; exit 1; }
  sleep 0.2
done
sleep 1
kill -KILL $p
wait $p
echo "pvhboot killed (SIGKILL); domain $(xl domid "$NAME") still there: $(xl list "$NAME" | tail -1)"
ls /run/pvhboot
pvhboot reap || exit 1
if xl domid "$NAME" >/dev/null 2>&1; then echo "domain $NAME left behind by reap"; exit 1; fi
[ -z "$(ls /run/pvhboot)" ] || { echo "records left: $(ls /run/pvhboot)"; exit 1; }
echo "reaped"
