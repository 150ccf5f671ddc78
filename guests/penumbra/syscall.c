/*
 * The system calls. Arguments come in ebx, ecx, edx, esi; user pointers
 * are checked (and their pages brought in) with vm_user_check before the
 * kernel touches them, so a bad pointer is an error return, not a fault.
 * One table, built from PN_SYSCALLS, maps numbers to handlers.
 */
#include "kernel.h"
#include "archive.h"
#include "clock.h"
#include "file.h"
#include "frame.h"
#include "proc.h"
#include "syscall.h"

#define ARGBUF_SIZE	1024
#define PATH_MAX	ARCHIVE_NAME_MAX
#define MMAP_END	(PN_STACK_TOP - PN_STACK_PAGES * PAGE_SIZE)

static int check(uint32_t va, uint32_t len, bool write)
{
	return vm_user_check(&curproc->vm, va, len, write);
}

static int put_user(uint32_t va, const void *src, uint32_t len)
{
	if (check(va, len, true) < 0)
		return -PN_EFAULT;
	memcpy((void *)va, src, len);
	return 0;
}

/* A NUL-terminated user string into buf; -PN_EFAULT, or -PN_EINVAL if too long. */
static int get_string(uint32_t va, char *buf, uint32_t size)
{
	for (uint32_t i = 0; i < size; i++) {
		if ((i == 0 || (va + i) % PAGE_SIZE == 0) && check(va + i, 1, false) < 0)
			return -PN_EFAULT;
		buf[i] = *(const char *)(va + i);
		if (!buf[i])
			return (int)i;
	}
	return -PN_EINVAL;
}

static struct file *fd_file(int fd)
{
	return fd >= 0 && fd < NFD ? curproc->fd[fd] : NULL;
}

static int fd_alloc(struct file *f)
{
	for (int fd = 0; fd < NFD; fd++)
		if (!curproc->fd[fd]) {
			curproc->fd[fd] = f;
			return fd;
		}
	return -PN_EMFILE;
}

static long sys_exit(struct trapframe *tf)
{
	proc_exit((int)tf->ebx);
}

static long sys_wait(struct trapframe *tf)
{
	int status, pid;

	if (tf->ebx && check(tf->ebx, sizeof(int), true) < 0)
		return -PN_EFAULT;
	pid = proc_wait(&status);
	if (pid >= 0 && tf->ebx)
		put_user(tf->ebx, &status, sizeof(status));
	return pid;
}

static long sys_fork(struct trapframe *tf)
{
	return proc_fork();
}

static long sys_exec(struct trapframe *tf)
{
	static char buf[ARGBUF_SIZE];
	char path[PATH_MAX], *argv[PN_MAXARG + 1];
	uint32_t used = 0, uargv = tf->ecx;
	int argc = 0, n;

	if ((n = get_string(tf->ebx, path, sizeof(path))) < 0)
		return n == -PN_EINVAL ? -PN_ENOENT : n;
	for (;; argc++, uargv += 4) {
		uint32_t s;

		if (check(uargv, 4, false) < 0)
			return -PN_EFAULT;
		if (!(s = *(const uint32_t *)uargv))
			break;
		if (argc == PN_MAXARG)
			return -PN_EINVAL;
		if ((n = get_string(s, buf + used, ARGBUF_SIZE - used)) < 0)
			return n;
		argv[argc] = buf + used;
		used += (uint32_t)n + 1;
	}
	argv[argc] = NULL;
	return exec(path, argv, argc);
}

static long sys_getpid(struct trapframe *tf)
{
	return curproc->pid;
}

/* The heap grows by demand-zero pages and shrinks by giving them back. */
static long sys_sbrk(struct trapframe *tf)
{
	struct proc *p = curproc;
	int32_t incr = (int32_t)tf->ebx;
	uint32_t old = p->brk, new = old + (uint32_t)incr;
	uint32_t old_end = ALIGN_UP(old, PAGE_SIZE), new_end;
	int r;

	if ((incr > 0 && (new < old || new > PN_MMAP_BASE)) || (incr < 0 && (new > old || new < p->heap_start)))
		return -PN_ENOMEM;
	new_end = ALIGN_UP(new, PAGE_SIZE);
	if (new_end > old_end && (r = vm_map_zero(&p->vm, old_end, (new_end - old_end) / PAGE_SIZE)) < 0)
		return r;
	if (new_end < old_end)
		vm_unmap(&p->vm, new_end, (old_end - new_end) / PAGE_SIZE);
	p->brk = new;
	return (long)old;
}

static long sys_write(struct trapframe *tf)
{
	struct file *f = fd_file((int)tf->ebx);

	if (!f)
		return -PN_EBADF;
	if (check(tf->ecx, tf->edx, false) < 0)
		return -PN_EFAULT;
	return file_write(f, (const char *)tf->ecx, tf->edx);
}

static long sys_read(struct trapframe *tf)
{
	struct file *f = fd_file((int)tf->ebx);

	if (!f)
		return -PN_EBADF;
	if (check(tf->ecx, tf->edx, true) < 0)
		return -PN_EFAULT;
	return file_read(f, (char *)tf->ecx, tf->edx);
}

static long sys_sleep(struct trapframe *tf)
{
	return clock_sleep_ms(tf->ebx);
}

static long sys_uptime(struct trapframe *tf)
{
	return (long)clock_ms();
}

static long sys_kill(struct trapframe *tf)
{
	return proc_kill((int)tf->ebx);
}

/* Anonymous memory: the first hole of the size from where the last one ended. */
static long sys_mmap(struct trapframe *tf)
{
	struct proc *p = curproc;
	uint32_t npages = ALIGN_UP(tf->ebx, PAGE_SIZE) / PAGE_SIZE, va = p->mmap_next;
	int r;

	if (!tf->ebx || tf->ebx > MMAP_END - PN_MMAP_BASE)
		return -PN_EINVAL;
	while (va + npages * PAGE_SIZE <= MMAP_END && va >= PN_MMAP_BASE) {
		uint32_t i = 0;

		while (i < npages && vm_is_free(&p->vm, va + i * PAGE_SIZE, 1))
			i++;
		if (i == npages)
			break;
		va += (i + 1) * PAGE_SIZE;
	}
	if (va + npages * PAGE_SIZE > MMAP_END)
		return -PN_ENOMEM;
	if ((r = vm_map_zero(&p->vm, va, npages)) < 0)
		return r;
	p->mmap_next = va + npages * PAGE_SIZE;
	return (long)va;
}

static long sys_munmap(struct trapframe *tf)
{
	uint32_t va = tf->ebx, len = ALIGN_UP(tf->ecx, PAGE_SIZE);

	if (va % PAGE_SIZE || va < PN_MMAP_BASE || !len || len > MMAP_END - va)
		return -PN_EINVAL;
	vm_unmap(&curproc->vm, va, len / PAGE_SIZE);
	if (va < curproc->mmap_next)
		curproc->mmap_next = va;
	return 0;
}

static long sys_pipe(struct trapframe *tf)
{
	struct file *rd, *wr;
	int fds[2], r;

	if (check(tf->ebx, sizeof(fds), true) < 0)
		return -PN_EFAULT;
	if ((r = pipe_new(&rd, &wr)) < 0)
		return r;
	if ((fds[0] = fd_alloc(rd)) < 0 || (fds[1] = fd_alloc(wr)) < 0) {
		if (fds[0] >= 0)
			curproc->fd[fds[0]] = NULL;
		file_close(rd);
		file_close(wr);
		return -PN_EMFILE;
	}
	return put_user(tf->ebx, fds, sizeof(fds));
}

static long sys_dup(struct trapframe *tf)
{
	struct file *f = fd_file((int)tf->ebx);
	int fd;

	if (!f)
		return -PN_EBADF;
	if ((fd = fd_alloc(f)) >= 0)
		file_dup(f);
	return fd;
}

static long sys_close(struct trapframe *tf)
{
	struct file *f = fd_file((int)tf->ebx);

	if (!f)
		return -PN_EBADF;
	curproc->fd[tf->ebx] = NULL;
	file_close(f);
	return 0;
}

static long sys_open(struct trapframe *tf)
{
	char path[PATH_MAX];
	const struct archive_file *af;
	struct file *f;
	int fd, n;

	if ((n = get_string(tf->ebx, path, sizeof(path))) < 0)
		return n == -PN_EINVAL ? -PN_ENOENT : n;
	if (!(af = archive_find(path)))
		return -PN_ENOENT;
	if (!(f = file_new(F_ARCHIVE)))
		return -PN_EMFILE;
	f->af = af;
	if ((fd = fd_alloc(f)) < 0)
		file_close(f);
	return fd;
}

/* readdir(index, name[ARCHIVE_NAME_MAX]): the file's size, or -PN_ENOENT past the end. */
static long sys_readdir(struct trapframe *tf)
{
	const struct archive_file *af = archive_get(tf->ebx);
	int r;

	if (!af)
		return -PN_ENOENT;
	if ((r = put_user(tf->ecx, af->name, (uint32_t)strlen(af->name) + 1)) < 0)
		return r;
	return (long)af->size;
}

/* procinfo(slot, &info): 1 if the slot is in use, 0 if free, -PN_EINVAL past the table. */
static long sys_procinfo(struct trapframe *tf)
{
	struct proc *p = proc_slot(tf->ebx);
	struct pn_procinfo info = { 0 };

	if (!p)
		return -PN_EINVAL;
	if (p->state == P_FREE)
		return 0;
	info.pid = p->pid;
	info.ppid = p->parent ? p->parent->pid : 0;
	info.state = p->state == P_EMBRYO ? P_RUNNABLE : (int)p->state;
	info.pages = p->vm.pages;
	strlcpy(info.name, p->name, sizeof(info.name));
	return put_user(tf->ecx, &info, sizeof(info)) < 0 ? -PN_EFAULT : 1;
}

static long sys_counters(struct trapframe *tf)
{
	struct pn_counters c = { 0 };

	mach_counters(&c);
	trap_counters(&c);
	c.zeroed_frames = frame_zeroed();
	return put_user(tf->ebx, &c, sizeof(c));
}

static long sys_meminfo(struct trapframe *tf)
{
	struct pn_meminfo m = { frame_free_count(), frame_total(), frame_reserved(), proc_count(), NPROC };

	return put_user(tf->ebx, &m, sizeof(m));
}

static long sys_poweroff(struct trapframe *tf)
{
	kprintf("penumbra: power off, status %d\n", (int)tf->ebx);
	mach_poweroff((int)tf->ebx);
}

static long sys_setfg(struct trapframe *tf)
{
	console_set_foreground((int)tf->ebx);
	return 0;
}

typedef long (*syscall_fn)(struct trapframe *tf);

static const syscall_fn syscalls[PN_SYS_COUNT] = {
#define PN_ENTRY(nr, name) [nr] = sys_##name,
	PN_SYSCALLS(PN_ENTRY)
#undef PN_ENTRY
};

void syscall(struct trapframe *tf)
{
	uint32_t nr = tf->eax;

	tf->eax = nr < PN_SYS_COUNT && syscalls[nr] ? (uint32_t)syscalls[nr](tf) : (uint32_t)-PN_ENOSYS;
}
