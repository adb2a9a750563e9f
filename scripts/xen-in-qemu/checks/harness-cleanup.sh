# The harness itself: a command that starts a domain with xl and then hangs past its budget is
# killed and its NAME-* domain destroyed (the leftover count after the jobs checks that).
printf '%s\n' "name = \"$NAME-a\"" 'type = "pvh"' 'kernel = "fw.elf"' 'memory = 128' >guest.cfg
xl create guest.cfg || exit 1
sleep 600
