/*
 * exec: a static ELF32 program from the archive replaces the process's
 * image. The new address space is built completely before the old one is
 * given up, so a missing or corrupt file leaves the caller as it was.
 */
#include "kernel.h"
#include "archive.h"
#include "frame.h"
#include "proc.h"
#include "syscall.h"

#define ELF_MAGIC	0x464c457fu	/* "\x7fELF" */
#define ELFCLASS32	1
#define ELFDATA2LSB	1
#define ET_EXEC		2
#define EM_386		3
#define PT_LOAD		1
#define PF_W		2
#define ELF_MAX_PHDRS	16

struct elf_header {
	uint32_t magic;
	uint8_t class, data, version, osabi, pad[8];
	uint16_t type, machine;
	uint32_t version2, entry, phoff, shoff, flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf_phdr {
	uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
};

#define STACK_BOTTOM	(PN_STACK_TOP - PN_STACK_PAGES * PAGE_SIZE)

static bool header_ok(const struct archive_file *f, const struct elf_header *h)
{
	return f->size >= sizeof(*h) && h->magic == ELF_MAGIC && h->class == ELFCLASS32 &&
	       h->data == ELFDATA2LSB && h->type == ET_EXEC && h->machine == EM_386 &&
	       h->phentsize == sizeof(struct elf_phdr) && h->phnum && h->phnum <= ELF_MAX_PHDRS &&
	       h->phoff <= f->size && h->phnum * sizeof(struct elf_phdr) <= f->size - h->phoff &&
	       h->entry >= PN_USER_BASE && h->entry < STACK_BOTTOM;
}

static bool segment_ok(const struct archive_file *f, const struct elf_phdr *ph)
{
	uint32_t end = ph->vaddr + ph->memsz;

	return ph->memsz >= ph->filesz && ph->vaddr >= PN_USER_BASE && end >= ph->vaddr &&
	       end <= PN_MMAP_BASE && ph->offset <= f->size && ph->filesz <= f->size - ph->offset;
}

/* Copy a segment into fresh frames, page by page. */
static int load_segment(struct vm *vm, const struct archive_file *f, const struct elf_phdr *ph)
{
	uint32_t file_end = ph->vaddr + ph->filesz;

	for (uint32_t va = ph->vaddr & ~(PAGE_SIZE - 1); va < ph->vaddr + ph->memsz; va += PAGE_SIZE) {
		uint32_t pa = frame_alloc(), from = va > ph->vaddr ? va : ph->vaddr;
		uint32_t to = va + PAGE_SIZE < file_end ? va + PAGE_SIZE : file_end;

		if (!pa)
			return -PN_ENOMEM;
		if (vm_map(vm, va, pa, ph->flags & PF_W ? VM_WRITE : 0) < 0) {
			frame_put(pa);
			return -PN_ENOMEM;
		}
		if (from < to)
			memcpy((char *)P2V(pa) + (from - va), f->data + ph->offset + (from - ph->vaddr),
			       to - from);
	}
	return 0;
}

/* The argument strings and vector at the top of the stack; returns esp. */
static uint32_t build_stack(uint32_t page_pa, char *const argv[], int argc)
{
	char *page = P2V(page_pa);
	uint32_t sp = PN_STACK_TOP, uargv[PN_MAXARG + 1];

	for (int i = argc - 1; i >= 0; i--) {
		uint32_t len = (uint32_t)strlen(argv[i]) + 1;

		sp -= len;
		memcpy(page + (sp - (PN_STACK_TOP - PAGE_SIZE)), argv[i], len);
		uargv[i] = sp;
	}
	uargv[argc] = 0;
	sp &= ~3u;
	sp -= (uint32_t)(argc + 1) * 4;
	memcpy(page + (sp - (PN_STACK_TOP - PAGE_SIZE)), uargv, (uint32_t)(argc + 1) * 4);
	uint32_t frame[3] = { 0, (uint32_t)argc, sp };	/* return address, argc, argv */

	sp -= sizeof(frame);
	memcpy(page + (sp - (PN_STACK_TOP - PAGE_SIZE)), frame, sizeof(frame));
	return sp;
}

static int build_image(struct vm *vm, const struct archive_file *f, char *const argv[], int argc,
		       uint32_t *brk, uint32_t *sp)
{
	const struct elf_header *h = (const void *)f->data;
	const struct elf_phdr *ph;
	uint32_t top_page;
	int r;

	if (!header_ok(f, h))
		return -PN_ENOEXEC;
	if ((r = vm_create(vm)) < 0)
		return r;
	*brk = 0;
	ph = (const void *)(f->data + h->phoff);
	for (unsigned i = 0; i < h->phnum; i++, ph++) {
		if (ph->type != PT_LOAD)
			continue;
		if (!segment_ok(f, ph))
			return -PN_ENOEXEC;
		if ((r = load_segment(vm, f, ph)) < 0)
			return r;
		if (ph->vaddr + ph->memsz > *brk)
			*brk = ph->vaddr + ph->memsz;
	}
	if (!*brk)
		return -PN_ENOEXEC;
	if ((r = vm_map_zero(vm, STACK_BOTTOM, PN_STACK_PAGES - 1)) < 0)
		return r;
	if (!(top_page = frame_alloc()))
		return -PN_ENOMEM;
	if (vm_map(vm, PN_STACK_TOP - PAGE_SIZE, top_page, VM_WRITE) < 0) {
		frame_put(top_page);
		return -PN_ENOMEM;
	}
	*sp = build_stack(top_page, argv, argc);
	*brk = ALIGN_UP(*brk, PAGE_SIZE);
	return 0;
}

int exec_into(struct proc *p, const char *path, char *const argv[], int argc)
{
	const struct archive_file *f = archive_find(path);
	struct vm nvm = { 0 }, old;
	uint32_t brk, sp;
	int r;

	if (!f)
		return -PN_ENOENT;
	if ((r = build_image(&nvm, f, argv, argc, &brk, &sp)) < 0) {
		vm_destroy(&nvm);
		return r;
	}
	old = p->vm;
	p->vm = nvm;
	if (p == curproc)
		vm_activate(&p->vm, kstack_top(p));
	vm_destroy(&old);
	strlcpy(p->name, f->name, sizeof(p->name));
	p->heap_start = p->brk = brk;
	p->mmap_next = PN_MMAP_BASE;
	*p->tf = (struct trapframe){ .cs = USER_CS, .ds = USER_DS, .es = USER_DS, .ss = USER_DS,
				     .eflags = 0x202, .eip = ((const struct elf_header *)f->data)->entry,
				     .esp = sp };
	return 0;
}

int exec(const char *path, char *const argv[], int argc)
{
	return exec_into(curproc, path, argv, argc);
}
