# Persistent UEFI variables through xen-pflash, started by `pvhboot run --vars`: boot 1 sets a
# non-volatile variable from the UEFI shell; the VARS file in dom0 then holds it (elfwrap vars
# list); boot 2, a new domain with the same file, reads it back.
# (Run by the dom0 runner in the job directory; NAME, TIMEOUT in the environment.)
guid=6e0b1c1a-3f5d-4d6c-9a8e-2b7f4c1d0e99
elfwrap vars blank --layout 0x20000 -o vars.fd || exit 1
# %V% keeps the typed command from matching what the expect looks for in the output.
pvhboot run fw.elf --memory 256 --name "$NAME-1" --vars vars.fd --timeout $((TIMEOUT / 2)) --console-log boot1.log \
  --input "setvar ElfwrapNvram -guid $guid -nv -bs -rt =454c46575241502d4e5652414d\rset V DONE\recho NVRAM-SET-%V%\r" \
  --expect 'NVRAM-SET-DONE' || { echo "boot 1 failed"; tail -40 boot1.log; exit 1; }
echo "boot 1: $(grep -m1 NVRAM-SET-DONE boot1.log)"
elfwrap vars list vars.fd | tee vars1.txt | grep ElfwrapNvram || { echo "the VARS file does not hold ElfwrapNvram"; cat vars1.txt; exit 1; }
pvhboot run fw.elf --memory 256 --name "$NAME-2" --vars vars.fd --timeout $((TIMEOUT / 2)) --console-log boot2.log \
  --input "setvar ElfwrapNvram -guid $guid\rset V END\recho NVRAM-SHOW-%V%\r" \
  --expect 'NVRAM-SHOW-END' --expect '45 4C 46 57 52 41 50 2D 4E 56 52 41 4D' || { echo "boot 2 failed"; tail -20 boot2.log; exit 1; }
echo "boot 2: $(grep -m1 -B1 '45 4C 46 57 52 41 50' boot2.log | tr '\n' ' ')"
