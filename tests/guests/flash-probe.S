/* flash-probe: a PVH guest that talks to the CFI flash xen-pflash emulates at 0xffe00000, with
 * nothing else in the way (no firmware): it waits until the flash answers (reads other than all
 * ones), then reads a byte, reads the status register, programs a byte, erases a block, and
 * prints what it saw on port 0xe9 ("(dN) flash-probe: ..." in Xen's console). Then it halts
 * with interrupts off, which powers the domain off.
 */
#define FLASH 0xffe00000

        .code32
        .text
        .globl _start
_start:
        mov     $stack_top, %esp
        mov     $m_start, %esi
        call    print
        /* Wait for the emulator (reads give all ones until it claims the range). */
        mov     $0x20000000, %ecx
1:      cmpb    $0xff, FLASH + 0x10
        jne     2f
        pause
        loop    1b
        mov     $m_none, %esi
        call    print
        jmp     halt
2:      mov     $m_read, %esi
        call    print
        movzbl  FLASH + 0x10, %eax
        call    print_hex
        /* A few seconds of nothing: an emulator must go on serving a quiet guest. */
        mov     $0x2000000, %ecx
7:      pause
        loop    7b
        movb    $0x70, FLASH + 0x10             /* read status */
        mov     $m_status, %esi
        call    print
        movzbl  FLASH + 0x10, %eax
        call    print_hex
        movb    $0x50, FLASH + 0x10             /* clear status: back to read array */
        movb    $0x10, FLASH + 0x1ff00          /* program 0x42 into erased flash */
        movb    $0x42, FLASH + 0x1ff00
        movb    $0xff, FLASH + 0x1ff00
        mov     $m_prog, %esi
        call    print
        movzbl  FLASH + 0x1ff00, %eax
        call    print_hex
        movb    $0x20, FLASH + 0x1f000          /* erase the block again */
        movb    $0xd0, FLASH + 0x1f000
        movb    $0xff, FLASH + 0x1f000
        mov     $m_erase, %esi
        call    print
        movzbl  FLASH + 0x1ff00, %eax
        call    print_hex
        /* A rep read (what CopyMem does): 16 bytes of the store header. */
        mov     $FLASH + 0x48, %esi
        mov     $buf, %edi
        mov     $4, %ecx
        cld
        rep movsl
        mov     $m_rep, %esi
        call    print
        movzbl  buf, %eax
        call    print_hex
        /* Add Xen's shared info page to the physmap and remove it again, as OVMF's PEI does: the
         * removal makes Xen ask every ioreq server to invalidate its map cache, and wait. */
        mov     $0x40000002, %eax
        cpuid
        mov     %ebx, %ecx
        mov     $hypercall_page, %eax
        xor     %edx, %edx
        wrmsr
        movw    $0x7ff0, xatp                   /* domid DOMID_SELF */
        movw    $0, xatp + 2                    /* size */
        movl    $0, xatp + 4                    /* space XENMAPSPACE_shared_info */
        movl    $0, xatp + 8                    /* idx */
        movl    $0xfef00, xatp + 12             /* gpfn (the 32-bit ABI: xen_ulong_t and xen_pfn_t are 4 bytes) */
        mov     $7, %ebx                        /* XENMEM_add_to_physmap */
        mov     $xatp, %ecx
        call    hypercall_page + 12 * 32        /* __HYPERVISOR_memory_op */
        mov     $m_added, %esi
        call    print
        call    print_hex
        movw    $0x7ff0, xrfp
        movl    $0xfef00, xrfp + 4
        mov     $15, %ebx                       /* XENMEM_remove_from_physmap */
        mov     $xrfp, %ecx
        call    hypercall_page + 12 * 32
        mov     $m_removed, %esi
        call    print
        call    print_hex
        mov     $m_done, %esi
        call    print
halt:   cli
        hlt
        jmp     halt

/* print: the NUL-terminated string at %esi to port 0xe9. */
print:  push    %eax
        push    %edx
        mov     $0xe9, %dx
3:      lodsb
        test    %al, %al
        jz      4f
        outb    %al, %dx
        jmp     3b
4:      pop     %edx
        pop     %eax
        ret

/* print_hex: %al as two hex digits and a newline. */
print_hex:
        push    %eax
        mov     $0xe9, %dx
        mov     %al, %ah
        shr     $4, %al
        call    5f
        mov     %ah, %al
        and     $0xf, %al
        call    5f
        mov     $'\n', %al
        outb    %al, %dx
        pop     %eax
        ret
5:      add     $'0', %al
        cmp     $'9', %al
        jbe     6f
        add     $('a' - '0' - 10), %al
6:      outb    %al, %dx
        ret

        .data
m_start:  .asciz "flash-probe: started\n"
m_none:   .asciz "flash-probe: no flash answered\n"
m_read:   .asciz "flash-probe: byte at +0x10: "
m_status: .asciz "flash-probe: status after 0x70: "
m_prog:   .asciz "flash-probe: +0x1ff00 after programming 0x42: "
m_erase:  .asciz "flash-probe: +0x1ff00 after erasing its block: "
m_rep:    .asciz "flash-probe: first byte of a rep movsl from +0x48: "
m_done:   .asciz "flash-probe: done\n"
m_added:  .asciz "flash-probe: shared info added at 0xfef00000: rc "
m_removed: .asciz "flash-probe: and removed: rc "
        .balign 8
xatp:     .fill 24, 1, 0
xrfp:     .fill 16, 1, 0
        .balign 4096
hypercall_page: .fill 4096, 1, 0xcc
        .balign 16
buf:      .fill 16, 1, 0
stack:    .fill 4096, 1, 0
stack_top:

        .section .note.Xen, "a"
        .balign 4
        .long   4, 4, 18
        .asciz  "Xen"
        .balign 4
        .long   _start
