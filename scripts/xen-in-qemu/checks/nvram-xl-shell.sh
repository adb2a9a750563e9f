# xl's nvram=: boot 1 (a startup.nsh) sets a non-volatile variable and adds a boot entry with bcfg,
# then powers off; the VARS file then holds both (elfwrap vars list); boot 2 shows both. A guest
# without nvram= runs no emulator and sees neither.
. /harness/checks/lib.sh
elfwrap vars blank --layout 0x20000 -o vars.fd || exit 1
guest "$NAME-1" /jobs/shared/nvram-set-disk "nvram = \"$PWD/vars.fd\"" || fail "xl create"
say "boot 1: xen-pflash pid $(pflash_pid "$NAME-1")"
wait_console "$NAME-1" 'NVRAM-SET-DONE' 120 >/dev/null || { tail -20 "$(console_log "$NAME-1")"; fail "boot 1 did not set the variable"; }
wait_gone "$NAME-1" 30 || fail "boot 1 did not power off"
elfwrap vars list vars.fd >vars.txt || fail "vars list"
grep -E "ElfwrapNvram|elfwrap-nvram-entry" vars.txt
grep -q "ElfwrapNvram .* added" vars.txt && grep -q "Boot[0-9A-F]\{4\} .* added .*\"elfwrap-nvram-entry\"" vars.txt || fail "the VARS file lacks the variable or the boot entry"
guest "$NAME-2" /jobs/shared/nvram-show-disk "nvram = \"$PWD/vars.fd\"" || fail "xl create"
wait_console "$NAME-2" 'NVRAM-SHOW-END' 120 >/dev/null || { tail -20 "$(console_log "$NAME-2")"; fail "boot 2 did not show"; }
c2=$(console_log "$NAME-2")
grep -E "ElfwrapNvram|45 4C 46 57|Boot0009|elfwrap-nvram-entry" "$c2" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g; s/^/boot 2: /'
grep -q "45 4C 46 57 52 41 50 2D 4E 56 52 41 4D" "$c2" || fail "boot 2 does not have the variable"
grep -q "elfwrap-nvram-entry" "$c2" || fail "boot 2 does not have the boot entry"
wait_gone "$NAME-2" 30
guest "$NAME-3" /jobs/shared/nvram-show-disk || fail "xl create"
running=$(pgrep xen-pflash)
wait_console "$NAME-3" 'NVRAM-SHOW-END' 120 >/dev/null || fail "boot 3 did not show"
[ -z "$running" ] || fail "xen-pflash runs for a guest without nvram= (pid $running)"
grep -q "45 4C 46 57 52 41 50" "$(console_log "$NAME-3")" && fail "a guest without nvram= sees the variable"
say "without nvram=: no xen-pflash, $(grep -m1 'Unable to get' "$(console_log "$NAME-3")" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g')"
wait_gone "$NAME-3" 30
say "ok"
