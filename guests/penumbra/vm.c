/*
 * Address spaces, written once for every paging format: the walks read the
 * level structure from PT (pt_format.h). Entries are written through the
 * machine (mach_pte_write), which tells umbra or the TLB, except in a
 * table no CPU has used yet, where there is nothing to tell.
 */
#include "kernel.h"
#include "frame.h"
#include "machine.h"
#include "vm.h"

#define USER_PAGE	(PTE_P | PTE_U | PTE_A | PTE_D)

static struct vm kernel_vm;
static uint32_t kernel_end;		/* end of the direct map */

void vm_init(uint32_t kernel_top, uint32_t mem_end)
{
	kernel_vm.top = kernel_top;
	kernel_end = KBASE + mem_end;
}

static void set_entry(struct vm *vm, uint32_t va, unsigned level, void *slot, uint64_t v)
{
	if (vm->fresh)
		pt_put(PT, slot, 0, v);
	else
		mach_pte_write(vm->top, va, level, slot, v);
}

static uint64_t entry_at(const void *slot)
{
	return pt_get(PT, slot, 0);
}

/* The entry for va at `level`, making the tables above it if `create`. */
static void *walk(struct vm *vm, uint32_t va, unsigned level, bool create)
{
	void *table = P2V(vm->top);

	for (unsigned l = 0; l < level; l++) {
		void *slot = pt_slot(PT, table, pt_index(PT, l, va));
		uint64_t e = entry_at(slot);

		if (!(e & PTE_P)) {
			uint32_t pa;

			if (!create || !(pa = frame_alloc()))
				return NULL;
			e = pa | PT->level[l].table_flags;
			set_entry(vm, va, l, slot, e);
		}
		table = P2V((uint32_t)e & PTE_ADDR);
	}
	return pt_slot(PT, table, pt_index(PT, level, va));
}

/* Link the kernel's leaf tables: the kernel region is the same everywhere. */
int vm_create(struct vm *vm)
{
	unsigned dir = PT_LEAF(PT) - 1;

	*vm = (struct vm){ .fresh = true };
	if (!(vm->top = frame_alloc()))
		return -PN_ENOMEM;
	for (uint32_t va = KBASE; va < kernel_end; va += (uint32_t)pt_span(PT, dir)) {
		uint64_t e = entry_at(walk(&kernel_vm, va, dir, false));
		void *slot = walk(vm, va, dir, true);

		if (!slot) {
			vm_destroy(vm);
			return -PN_ENOMEM;
		}
		set_entry(vm, va, dir, slot, e);
	}
	return 0;
}

typedef int (*leaf_fn)(struct vm *vm, uint32_t va, void *slot, void *arg);

/* Call fn for every non-zero leaf entry below KBASE. */
static int each_user_leaf(struct vm *vm, uint32_t table, unsigned level, uint32_t base,
			  leaf_fn fn, void *arg)
{
	void *t = P2V(table);

	for (unsigned i = 0; i < PT->level[level].entries; i++) {
		uint64_t va64 = base + i * pt_span(PT, level);
		uint64_t e = pt_get(PT, t, i);
		int r = 0;

		if (va64 >= KBASE)
			break;
		if (level == PT_LEAF(PT) && e)
			r = fn(vm, (uint32_t)va64, pt_slot(PT, t, i), arg);
		else if (level < PT_LEAF(PT) && (e & PTE_P))
			r = each_user_leaf(vm, (uint32_t)e & PTE_ADDR, level + 1, (uint32_t)va64, fn, arg);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Give back one page (or promise) and clear its entry. */
static int drop_leaf(struct vm *vm, uint32_t va, void *slot, void *arg)
{
	uint64_t e = entry_at(slot);

	if (e & PTE_ZERO) {
		frame_unreserve(1);
		vm->zero--;
	} else if (e & PTE_P) {
		frame_put((uint32_t)e & PTE_ADDR);
		vm->pages--;
	}
	if (arg)
		set_entry(vm, va, PT_LEAF(PT), slot, 0);
	return 0;
}

/* Free the tables under `table`, keeping the kernel's shared leaf tables. */
static void free_tables(uint32_t table, unsigned level, uint32_t base)
{
	void *t = P2V(table);

	for (unsigned i = 0; i < PT->level[level].entries; i++) {
		uint64_t va64 = base + i * pt_span(PT, level);
		uint64_t e = pt_get(PT, t, i);

		if (!(e & PTE_P) || (level + 1 == PT_LEAF(PT) && va64 >= KBASE))
			continue;
		if (level + 1 < PT_LEAF(PT))
			free_tables((uint32_t)e & PTE_ADDR, level + 1, (uint32_t)va64);
		frame_put((uint32_t)e & PTE_ADDR);
	}
}

void vm_destroy(struct vm *vm)
{
	if (!vm->top)
		return;
	each_user_leaf(vm, vm->top, 0, 0, drop_leaf, NULL);
	free_tables(vm->top, 0, 0);
	if (!vm->fresh)
		mach_pt_release(vm->top);
	mach_pt_commit();
	frame_put(vm->top);
	vm->top = 0;
}

void vm_activate(struct vm *vm, uint32_t kstack_top)
{
	vm->fresh = false;
	mach_switch(vm->top, kstack_top);
}

void vm_activate_kernel(uint32_t kstack_top)
{
	mach_switch(kernel_vm.top, kstack_top);
}

int vm_map(struct vm *vm, uint32_t va, uint32_t pa, unsigned prot)
{
	void *slot = walk(vm, va, PT_LEAF(PT), true);

	if (!slot)
		return -PN_ENOMEM;
	drop_leaf(vm, va, slot, NULL);
	set_entry(vm, va, PT_LEAF(PT), slot, pa | USER_PAGE | (prot & VM_WRITE ? PTE_W : 0));
	vm->pages++;
	return 0;
}

int vm_map_zero(struct vm *vm, uint32_t va, uint32_t npages)
{
	for (uint32_t i = 0; i < npages; i++)
		if (!walk(vm, va + i * PAGE_SIZE, PT_LEAF(PT), true))
			return -PN_ENOMEM;
	if (!frame_reserve(npages))
		return -PN_ENOMEM;
	for (uint32_t i = 0; i < npages; i++) {
		void *slot = walk(vm, va + i * PAGE_SIZE, PT_LEAF(PT), false);

		set_entry(vm, va + i * PAGE_SIZE, PT_LEAF(PT), slot, PTE_ZERO | PTE_W | PTE_U);
	}
	vm->zero += npages;
	return 0;
}

void vm_unmap(struct vm *vm, uint32_t va, uint32_t npages)
{
	for (uint32_t i = 0; i < npages; i++) {
		void *slot = walk(vm, va + i * PAGE_SIZE, PT_LEAF(PT), false);

		if (slot && entry_at(slot))
			drop_leaf(vm, va + i * PAGE_SIZE, slot, vm);
	}
	mach_pt_commit();
}

bool vm_is_free(struct vm *vm, uint32_t va, uint32_t npages)
{
	for (uint32_t i = 0; i < npages; i++) {
		void *slot = walk(vm, va + i * PAGE_SIZE, PT_LEAF(PT), false);

		if (slot && entry_at(slot))
			return false;
	}
	return true;
}

/*
 * Fork: the child shares every page. Writable ones become read-only and
 * copy-on-write in both spaces (the parent's through the machine, which on
 * PV has umbra do it in bulk; the child's tables are new, unannounced); promises of zero pages are made again for
 * the child, from the reserve, so that both may touch them.
 */
static int fork_leaf(struct vm *parent, uint32_t va, void *slot, void *arg)
{
	struct vm *child = arg;
	uint64_t e = entry_at(slot);
	void *cslot = walk(child, va, PT_LEAF(PT), true);

	if (!cslot)
		return -PN_ENOMEM;
	if (e & PTE_ZERO) {
		if (!frame_reserve(1))
			return -PN_ENOMEM;
		child->zero++;
	} else if (e & PTE_P) {
		if (e & PTE_W) {
			mach_pt_protect(parent->top, va, slot, PTE_COW);
			e = (e & ~(uint64_t)PTE_W) | PTE_COW;
		}
		frame_get((uint32_t)e & PTE_ADDR);
		child->pages++;
	}
	set_entry(child, va, PT_LEAF(PT), cslot, e);
	return 0;
}

int vm_fork(struct vm *child, struct vm *parent)
{
	int r = vm_create(child);

	if (r < 0)
		return r;
	r = each_user_leaf(parent, parent->top, 0, 0, fork_leaf, child);
	mach_pt_commit();
	if (r < 0)
		vm_destroy(child);
	return r;
}

/* Write fault on a copy-on-write page: copy it, unless no one else has it. */
static int break_cow(struct vm *vm, uint32_t va, void *slot, uint64_t e)
{
	uint32_t old = (uint32_t)e & PTE_ADDR, pa = old;

	if (frame_refs(old) > 1) {
		if (!(pa = frame_alloc()))
			return -PN_ENOMEM;
		memcpy(P2V(pa), P2V(old), PAGE_SIZE);
		frame_put(old);
	}
	set_entry(vm, va, PT_LEAF(PT), slot, pa | USER_PAGE | PTE_W);
	return 0;
}

int vm_fault(struct vm *vm, uint32_t va, bool write)
{
	void *slot;
	uint64_t e;

	va &= ~(PAGE_SIZE - 1);
	if (va < PAGE_SIZE || va >= KBASE || !(slot = walk(vm, va, PT_LEAF(PT), false)))
		return -PN_EFAULT;
	e = entry_at(slot);
	if (e & PTE_ZERO) {
		vm->zero--;
		vm->pages++;
		set_entry(vm, va, PT_LEAF(PT), slot, frame_alloc_reserved() | USER_PAGE | PTE_W);
		return 0;
	}
	if (!(e & PTE_P))
		return -PN_EFAULT;
	if (write && !(e & PTE_W))
		return e & PTE_COW ? break_cow(vm, va, slot, e) : -PN_EFAULT;
	return 0;
}

int vm_user_check(struct vm *vm, uint32_t va, uint32_t len, bool write)
{
	uint32_t end = va + len;

	if (end < va || end > KBASE)
		return -PN_EFAULT;
	for (uint32_t page = va & ~(PAGE_SIZE - 1); page < end; page += PAGE_SIZE) {
		void *slot = walk(vm, page, PT_LEAF(PT), false);
		uint64_t e = slot ? entry_at(slot) : 0;

		if (!(e & PTE_P) || (write && !(e & PTE_W)))
			if (vm_fault(vm, page, write) < 0)
				return -PN_EFAULT;
	}
	mach_pt_commit();
	return 0;
}
