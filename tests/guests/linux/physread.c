/* physread: reads guest-physical memory outside RAM through an mmap of /dev/mem, for the Linux
 * test guest's /init (tests/guests/linux/init).
 *
 *   physread ADDR LEN   prints LEN bytes at ADDR as hex digits, without separators
 *   physread -u32 ADDR  prints the little-endian 32-bit value at ADDR in decimal
 *
 * A read() of /dev/mem cannot do this on x86: it serves only addresses below the end of the
 * direct-mapped RAM (valid_phys_addr_range), and the ACPI information page at 0xfc000000 and a VM
 * generation ID lie far above a small guest's RAM. The mapping is asked for write-back (no
 * O_SYNC), the type the kernel's own mappings of these pages have (the vmgenid driver's memremap,
 * ACPICA's), so PAT does not refuse it as a conflicting type. Pages the memory map calls ACPI NVS
 * (an HVM guest's, from hvmloader) are busy resources, which Debian's kernel maps only with
 * iomem=relaxed on its command line (the test disks' GRUB gives it). Exit 1, with the reason on
 * stderr, when the kernel refuses the mapping. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int parse(const char *s, unsigned long long *out) {
  char *end;
  errno = 0;
  *out = strtoull(s, &end, 0);
  return errno == 0 && *s != '\0' && *end == '\0';
}

int main(int argc, char **argv) {
  int as_u32 = argc == 3 && strcmp(argv[1], "-u32") == 0;
  unsigned long long addr, len = 4;
  if (argc != 3 || !parse(argv[as_u32 ? 2 : 1], &addr) || (!as_u32 && (!parse(argv[2], &len) || len == 0 || len > 4096))) {
    fprintf(stderr, "usage: physread ADDR LEN (1..4096) | physread -u32 ADDR\n");
    return 2;
  }
  const unsigned long long page = (unsigned long long)sysconf(_SC_PAGESIZE);
  const unsigned long long base = addr & ~(page - 1);
  const size_t span = (size_t)(addr - base + len + page - 1) & ~(page - 1);
  int fd = open("/dev/mem", O_RDONLY);
  if (fd < 0) {
    fprintf(stderr, "physread: /dev/mem: %s\n", strerror(errno));
    return 1;
  }
  const unsigned char *m = mmap(NULL, span, PROT_READ, MAP_SHARED, fd, (off_t)base);
  if (m == MAP_FAILED) {
    fprintf(stderr, "physread: mmap of /dev/mem at %#llx (%zu bytes): %s\n", base, span, strerror(errno));
    return 1;
  }
  const unsigned char *p = m + (addr - base);
  if (as_u32) {
    printf("%u\n", (unsigned)p[0] | (unsigned)p[1] << 8 | (unsigned)p[2] << 16 | (unsigned)p[3] << 24);
  } else {
    for (unsigned long long i = 0; i < len; i++) printf("%02x", p[i]);
    printf("\n");
  }
  munmap((void *)m, span);
  close(fd);
  return 0;
}
