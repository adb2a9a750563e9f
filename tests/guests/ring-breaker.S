/* ring-breaker: a PVH guest that breaks its console ring, to test that a dom0 reader bounds
 * what the guest's indices claim. It asks Xen for its console page (HVMOP_get_param through the
 * hypercall page), writes "RING-BREAKER ready" through the ring as a well-behaved guest would,
 * waits until the reader consumed it, then sets out_prod 0x10000000 ahead of out_cons and spins.
 * 32-bit flat protected mode, paging off, interrupts off (the PVH entry state).
 */
#define HVMOP_get_param         1
#define HVM_PARAM_CONSOLE_PFN   17
#define DOMID_SELF              0x7ff0
#define HYPERCALL_hvm_op        34
#define RING_OUT                1024   /* struct xencons_interface: in[1024], out[2048], ... */
#define RING_OUT_SIZE           2048
#define RING_OUT_CONS           3080
#define RING_OUT_PROD           3084

        .code32
        .text
        .globl _start
_start:
        mov     $stack_top, %esp
        mov     $msg_start, %esi
        call    debug_print
        /* The hypercall page: CPUID leaf 0x40000002 names the MSR that installs it. */
        mov     $0x40000002, %eax
        cpuid
        mov     %ebx, %ecx
        mov     $hypercall_page, %eax
        xor     %edx, %edx
        wrmsr
        /* HVMOP_get_param(HVM_PARAM_CONSOLE_PFN) */
        movw    $DOMID_SELF, param
        movl    $HVM_PARAM_CONSOLE_PFN, param + 4
        mov     $HVMOP_get_param, %ebx
        mov     $param, %ecx
        call    hypercall_page + HYPERCALL_hvm_op * 32
        test    %eax, %eax
        jnz     failed
        mov     param + 8, %edi
        shl     $12, %edi                       /* the console page */
        /* A well-behaved write: the message, then out_prod. */
        mov     RING_OUT_PROD(%edi), %edx
        mov     $msg_ring, %esi
1:      movzbl  (%esi), %eax
        test    %al, %al
        jz      2f
        mov     %edx, %ecx
        and     $(RING_OUT_SIZE - 1), %ecx
        mov     %al, RING_OUT(%edi, %ecx)
        inc     %edx
        inc     %esi
        jmp     1b
2:      mov     %edx, RING_OUT_PROD(%edi)
        /* Wait until the reader took it (bounded: about a minute of TCG). */
        mov     $0x40000000, %ecx
3:      cmp     RING_OUT_CONS(%edi), %edx
        je      4f
        pause
        loop    3b
4:      /* Break it: the producer claims far more than the ring holds. */
        mov     RING_OUT_CONS(%edi), %edx
        add     $0x10000000, %edx
        mov     %edx, RING_OUT_PROD(%edi)
        mov     $msg_broken, %esi
        call    debug_print
5:      pause
        jmp     5b

failed: mov     $msg_failed, %esi
        call    debug_print
6:      pause
        jmp     6b

/* debug_print: the NUL-terminated string at %esi to port 0xe9 (Xen's console, "(dN) ..."). */
debug_print:
        mov     $0xe9, %dx
7:      lodsb
        test    %al, %al
        jz      8f
        outb    %al, %dx
        jmp     7b
8:      ret

        .data
msg_start:  .asciz "ring-breaker: started\n"
msg_ring:   .asciz "RING-BREAKER ready\n"
msg_broken: .asciz "ring-breaker: out_prod is now 0x10000000 ahead of out_cons\n"
msg_failed: .asciz "ring-breaker: HVMOP_get_param failed\n"
        .balign 8
param:      .fill 16, 1, 0
        .balign 4096
hypercall_page: .fill 4096, 1, 0xcc
stack:      .fill 4096, 1, 0
stack_top:

        .section .note.Xen, "a"
        .balign 4
        .long   4, 4, 18                        /* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz  "Xen"
        .balign 4
        .long   _start
