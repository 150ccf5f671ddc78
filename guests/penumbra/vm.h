/*
 * User address spaces. The page table is the only record of what a process
 * has mapped: a present entry is a page (PTE_COW: shared until written), a
 * non-present entry with PTE_ZERO a page promised zeroed on first touch.
 * Above KBASE every space links the kernel's own leaf tables.
 */
#ifndef PENUMBRA_VM_H
#define PENUMBRA_VM_H

#include <stdbool.h>
#include <stdint.h>

struct vm {
	uint32_t top;		/* physical address of the top-level table; 0: none */
	uint32_t pages;		/* frames mapped below KBASE */
	uint32_t zero;		/* demand-zero pages promised (frames reserved) */
	bool fresh;		/* never run on: changes need not be announced */
};

#define VM_WRITE	0x1

void vm_init(uint32_t kernel_top, uint32_t mem_end);
int vm_create(struct vm *vm);
void vm_destroy(struct vm *vm);		/* vm must not be the running space */
void vm_activate(struct vm *vm, uint32_t kstack_top);
void vm_activate_kernel(uint32_t kstack_top);

int vm_map(struct vm *vm, uint32_t va, uint32_t pa, unsigned prot);
int vm_map_zero(struct vm *vm, uint32_t va, uint32_t npages);
void vm_unmap(struct vm *vm, uint32_t va, uint32_t npages);
bool vm_is_free(struct vm *vm, uint32_t va, uint32_t npages);
int vm_fork(struct vm *child, struct vm *parent);

/* A page fault at va: 0 if resolved, -PN_EFAULT or -PN_ENOMEM if not. */
int vm_fault(struct vm *vm, uint32_t va, bool write);
/* Make [va, va + len) accessible to the kernel as the process could access it. */
int vm_user_check(struct vm *vm, uint32_t va, uint32_t len, bool write);

#endif
