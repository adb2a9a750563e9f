# xl create vs pvhboot, time from just before the command starts to the domain unpaused.
exec sh /harness/bench.sh fw.elf 7
