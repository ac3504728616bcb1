/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tvmm guest: flat 32-bit protected mode, paging and interrupts off.
 * Copied to TVMM_CODE_GPA, so it may only use relative jumps/calls and
 * absolute addresses of the control block (guest page 0).
 *
 * Entry state set by the host: %edi = vCPU id, %esp = top of its stack.
 * Register roles, preserved everywhere in the writer:
 *	%edi	vCPU id
 *	%esi	this vCPU's struct tvmm_cb_vcpu
 *	%ebp	generation being written (== cb gen at every page boundary)
 */
#include "tvmm.h"

#define CB(off)		(TVMM_CB_GPA + (off))

	.section .rodata.tvmm_guest, "a"
	.code32
	.balign 16
	.globl tvmm_guest_start, tvmm_guest_end
	.globl tvmm_guest_writer_end, tvmm_guest_gen_window

tvmm_guest_start:
	cld
	imul	$TVMM_CB_VCPU_SIZE, %edi, %esi
	add	$CB(TVMM_CB_VCPUS), %esi
	mov	TVMM_VCPU_GEN(%esi), %ebp

	/*
	 * Writer.  Each store below keeps the cb invariant (see tvmm.h):
	 * in_progress is raised before the page is touched, pos moves past
	 * the page only once it is complete, and in_progress drops last.
	 */
.Lpage:
	cmpl	$TVMM_MODE_VERIFY, CB(TVMM_CB_MODE)
	je	.Lverify
	mov	TVMM_VCPU_POS(%esi), %eax
	cmp	CB(TVMM_CB_TOTAL), %eax
	jae	.Lpass_end
	movl	$1, TVMM_VCPU_IN_PROGRESS(%esi)
	call	idx_to_gpa
	mov	%eax, %ebx
	call	write_page
	mov	TVMM_VCPU_POS(%esi), %eax
	add	CB(TVMM_CB_NR_VCPUS), %eax
	mov	%eax, TVMM_VCPU_POS(%esi)
	movl	$0, TVMM_VCPU_IN_PROGRESS(%esi)
	incl	TVMM_VCPU_WRITTEN(%esi)
	mov	TVMM_VCPU_BATCH_CNT(%esi), %eax
	inc	%eax
	cmp	CB(TVMM_CB_BATCH), %eax
	jae	1f
	mov	%eax, TVMM_VCPU_BATCH_CNT(%esi)
	jmp	.Lpage
1:	movl	$0, TVMM_VCPU_BATCH_CNT(%esi)
	mov	TVMM_VCPU_WRITTEN(%esi), %eax
	out	%eax, $TVMM_PORT_PROGRESS
	jmp	.Lpage

	/*
	 * Pass complete: (gen, pos) = (gen + 1, first owned page) in one
	 * locked 8-byte store, so the host never sees a half-updated pair.
	 * Only this vCPU writes the pair, so the exchange cannot fail.
	 */
.Lpass_end:
	mov	TVMM_VCPU_GEN(%esi), %eax
	mov	TVMM_VCPU_POS(%esi), %edx
	lea	1(%ebp), %ebx
	mov	%edi, %ecx
	lock cmpxchg8b TVMM_VCPU_GEN(%esi)
tvmm_guest_gen_window:
	mov	%ebx, %ebp
	incl	TVMM_VCPU_PASSES(%esi)
	jmp	.Lpage

/* In: %eax = global data index (< cb total).  Out: %eax = its gpa. */
idx_to_gpa:
	push	%ebx
	push	%ecx
	mov	$CB(TVMM_CB_RANGES), %ebx
1:	mov	4(%ebx), %ecx
	cmp	%ecx, %eax
	jb	2f
	sub	%ecx, %eax
	add	$TVMM_CB_RANGE_SIZE, %ebx
	jmp	1b
2:	shl	$TVMM_PAGE_SHIFT, %eax
	add	(%ebx), %eax
	pop	%ecx
	pop	%ebx
	ret

/* In: %ebx = page gpa, %ebp = gen, %edi = owner.  Clobbers eax ecx edx. */
write_page:
	push	%esi
	mov	%ebx, %edx
	shr	$TVMM_PAGE_SHIFT, %edx
	movl	$TVMM_PAGE_MAGIC, 0(%ebx)
	mov	%edx, 4(%ebx)
	mov	%ebp, 8(%ebx)
	mov	%edi, 12(%ebx)
	imul	$TVMM_MIX_A, %edx, %eax
	imul	$TVMM_MIX_B, %ebp, %ecx
	add	%ecx, %eax
	mov	$TVMM_MIX_C, %ecx
	shl	$2, %ecx
	add	%ecx, %eax
	lea	(TVMM_HDR_DWORDS * 4)(%ebx), %ecx
	lea	TVMM_PAGE_SIZE(%ebx), %esi
1:	mov	%eax, %edx
	shr	$15, %edx
	xor	%eax, %edx
	mov	%edx, (%ecx)
	add	$TVMM_MIX_C, %eax
	add	$4, %ecx
	cmp	%esi, %ecx
	jne	1b
	pop	%esi
	ret

tvmm_guest_writer_end:

	/*
	 * Verifier.  Entered only at a page boundary, so in_progress is clear
	 * and (gen, pos) describe every owned page exactly.  The result goes
	 * to the cb before the report OUT; then the vCPU idles until the host
	 * asks for another report (cb verify_seq) or restores writer mode.
	 */
.Lverify:
	pushl	CB(TVMM_CB_VERIFY_SEQ)
	call	verify_all
	mov	%eax, TVMM_VCPU_VBAD(%esi)
	mov	%ebx, TVMM_VCPU_VFIRST(%esi)
	mov	%ebp, TVMM_VCPU_VGEN(%esi)
	popl	TVMM_VCPU_VSEQ(%esi)
	out	%eax, $TVMM_PORT_REPORT
.Lidle:
	out	%eax, $TVMM_PORT_IDLE
	cmpl	$TVMM_MODE_VERIFY, CB(TVMM_CB_MODE)
	jne	.Lpage
	mov	CB(TVMM_CB_VERIFY_SEQ), %eax
	cmp	TVMM_VCPU_VSEQ(%esi), %eax
	jne	.Lverify
	jmp	.Lidle

/* Out: %eax = bad owned pages, %ebx = gfn of the first one. */
verify_all:
	sub	$12, %esp		/* 0: bad, 4: first gfn, 8: index */
	movl	$0, 0(%esp)
	movl	$0, 4(%esp)
	mov	%edi, 8(%esp)
1:	mov	8(%esp), %eax
	cmp	CB(TVMM_CB_TOTAL), %eax
	jae	4f
	call	idx_to_gpa
	mov	%eax, %ebx
	mov	%ebp, %ecx
	mov	8(%esp), %eax
	cmp	TVMM_VCPU_POS(%esi), %eax
	jb	2f
	dec	%ecx
2:	call	check_page
	test	%eax, %eax
	jz	3f
	cmpl	$0, 0(%esp)
	jne	5f
	shr	$TVMM_PAGE_SHIFT, %ebx
	mov	%ebx, 4(%esp)
5:	incl	0(%esp)
3:	mov	8(%esp), %eax
	add	CB(TVMM_CB_NR_VCPUS), %eax
	mov	%eax, 8(%esp)
	jmp	1b
4:	mov	0(%esp), %eax
	mov	4(%esp), %ebx
	add	$12, %esp
	ret

/*
 * In: %ebx = page gpa, %ecx = expected gen (0: page must be all zero),
 * %edi = owner.  Out: %eax = 0 if the page matches exactly, else 1.
 * Clobbers ecx edx.
 */
check_page:
	push	%esi
	push	%ebp
	lea	TVMM_PAGE_SIZE(%ebx), %esi
	test	%ecx, %ecx
	jnz	2f
	mov	%ebx, %edx
1:	cmpl	$0, (%edx)
	jne	8f
	add	$4, %edx
	cmp	%esi, %edx
	jne	1b
	jmp	7f
2:	cmpl	$TVMM_PAGE_MAGIC, 0(%ebx)
	jne	8f
	mov	%ebx, %edx
	shr	$TVMM_PAGE_SHIFT, %edx
	cmp	%edx, 4(%ebx)
	jne	8f
	cmp	%ecx, 8(%ebx)
	jne	8f
	cmp	%edi, 12(%ebx)
	jne	8f
	imul	$TVMM_MIX_A, %edx, %eax
	imul	$TVMM_MIX_B, %ecx, %ebp
	add	%ebp, %eax
	mov	$TVMM_MIX_C, %ebp
	shl	$2, %ebp
	add	%ebp, %eax
	lea	(TVMM_HDR_DWORDS * 4)(%ebx), %ecx
3:	mov	%eax, %edx
	shr	$15, %edx
	xor	%eax, %edx
	cmp	%edx, (%ecx)
	jne	8f
	add	$TVMM_MIX_C, %eax
	add	$4, %ecx
	cmp	%esi, %ecx
	jne	3b
7:	xor	%eax, %eax
	jmp	9f
8:	mov	$1, %eax
9:	pop	%ebp
	pop	%esi
	ret

tvmm_guest_end:

	.section .note.GNU-stack, "", @progbits
