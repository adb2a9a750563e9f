# Two guests with two VARS files at once: A sets a variable, B (booted at the same time) does not
# see it, and afterwards only A's file holds it. A third guest given A's file while A's
# emulator holds it is refused: xl create fails and xen-pflash says the file is in use.
. /harness/checks/lib.sh
elfwrap vars blank --layout 0x20000 -o a.fd && elfwrap vars blank --layout 0x20000 -o b.fd || exit 1
guest "$NAME-a" /jobs/shared/nvram-set-disk "nvram = \"$PWD/a.fd\"" || fail "xl create a"
guest "$NAME-b" /jobs/shared/nvram-show-disk "nvram = \"$PWD/b.fd\"" || fail "xl create b"
wait_console "$NAME-a" 'NVRAM-SET-DONE' 200 >/dev/null || fail "A did not set its variable"
wait_console "$NAME-b" 'NVRAM-SHOW-END' 200 >/dev/null || fail "B did not show"
grep -q "45 4C 46 57 52 41 50" "$(console_log "$NAME-b")" && fail "B sees A's variable"
wait_gone "$NAME-a" 30; wait_gone "$NAME-b" 30
elfwrap vars list a.fd | grep -q "ElfwrapNvram .* added" || fail "A's file lacks its variable"
elfwrap vars list b.fd | grep -q "ElfwrapNvram" && fail "B's file has A's variable"
say "two files, two guests: A's variable only in a.fd and only seen by A"
# The same file twice at once.
guest "$NAME-c" /jobs/shared/nvram-show-disk "nvram = \"$PWD/a.fd\"" || fail "xl create c"
if guest "$NAME-d" /jobs/shared/nvram-show-disk "nvram = \"$PWD/a.fd\""; then
  fail "a second guest was created with a VARS file in use"
fi
grep -m1 "xen-pflash did not start" "$NAME-d.create.log" | sed 's/^/xl: /'
log=$(sed -n 's/.*(see \(.*\.log\)).*/\1/p' "$NAME-d.create.log" | head -1)
[ -n "$log" ] && cat "$log"
grep -q "in use" "$log" || fail "xen-pflash's refusal does not say the file is in use"
xl domid "$NAME-d" >/dev/null 2>&1 && fail "the refused guest exists"
xl destroy "$NAME-c"
say "ok"
