/*
 * The process table and the scheduler: round robin over RUNNABLE
 * processes, preempted on every timer tick (clock.c sets need_resched,
 * trap() yields on the way back to user mode). The kernel itself is not
 * preemptible: it runs with interrupts off and switches only where it
 * sleeps or yields.
 */
#include "kernel.h"
#include "file.h"
#include "frame.h"
#include "proc.h"

static struct proc procs[NPROC];
static uint8_t kstacks[NPROC][KSTACK_SIZE] __attribute__((aligned(PAGE_SIZE)));
static int next_pid = 1;
static struct proc *initproc;
struct proc *curproc;
bool need_resched;

void swtch(uint32_t *save_esp, uint32_t esp);
void fork_trampoline(void);

uint32_t kstack_top(struct proc *p)
{
	return (uint32_t)p->kstack + KSTACK_SIZE;
}

struct proc *proc_slot(unsigned i)
{
	return i < NPROC ? &procs[i] : NULL;
}

unsigned proc_count(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < NPROC; i++)
		n += procs[i].state != P_FREE;
	return n;
}

struct proc *proc_find(int pid)
{
	for (unsigned i = 0; i < NPROC; i++)
		if (procs[i].state != P_FREE && procs[i].pid == pid)
			return &procs[i];
	return NULL;
}

/*
 * A new slot whose first switch lands in fork_trampoline, which returns to
 * user mode through the frame at the top of its kernel stack.
 */
struct proc *proc_create(const char *name)
{
	struct proc *p = NULL;
	uint32_t *sp;

	for (unsigned i = 0; i < NPROC && !p; i++)
		if (procs[i].state == P_FREE)
			p = &procs[i];
	if (!p)
		return NULL;
	*p = (struct proc){ .state = P_EMBRYO, .pid = next_pid++, .kstack = kstacks[p - procs] };
	strlcpy(p->name, name, sizeof(p->name));
	p->tf = (struct trapframe *)(kstack_top(p) - sizeof(struct trapframe));
	*p->tf = (struct trapframe){ .cs = USER_CS, .ds = USER_DS, .es = USER_DS, .ss = USER_DS,
				     .eflags = 0x202 };
	sp = (uint32_t *)p->tf;
	*--sp = (uint32_t)fork_trampoline;
	for (int i = 0; i < 4; i++)
		*--sp = 0;		/* ebp ebx esi edi */
	p->ctx = (uint32_t)sp;
	return p;
}

void proc_start(struct proc *p)
{
	if (!initproc)
		initproc = p;
	p->state = P_RUNNABLE;
}

/* The proc's slot goes back to the table; its frames went at exit. */
static void proc_free(struct proc *p)
{
	vm_destroy(&p->vm);
	p->state = P_FREE;
}

static struct proc *pick_next(void)
{
	unsigned start = curproc ? (unsigned)(curproc - procs) + 1 : 0;

	for (unsigned k = 0; k < NPROC; k++) {
		struct proc *p = &procs[(start + k) % NPROC];

		if (p->state == P_RUNNABLE)
			return p;
	}
	return NULL;
}

static void switch_to(struct proc *next)
{
	static uint32_t boot_ctx;
	struct proc *prev = curproc;

	curproc = next;
	next->state = P_RUNNING;
	vm_activate(&next->vm, kstack_top(next));
	swtch(prev ? &prev->ctx : &boot_ctx, next->ctx);
}

/* Give the CPU to the next runnable process, idling until there is one. */
static void schedule(void)
{
	struct proc *next;

	need_resched = false;
	while (!(next = pick_next()))
		mach_idle();
	if (next == curproc)
		next->state = P_RUNNING;
	else
		switch_to(next);
}

void schedule_first(void)
{
	schedule();
	panic("schedule_first returned");
}

void yield(void)
{
	curproc->state = P_RUNNABLE;
	schedule();
}

void sleep_on(const void *chan)
{
	if (curproc->killed)
		return;
	curproc->chan = chan;
	curproc->state = P_SLEEPING;
	schedule();
	curproc->chan = NULL;
}

void wakeup(const void *chan)
{
	for (unsigned i = 0; i < NPROC; i++)
		if (procs[i].state == P_SLEEPING && procs[i].chan == chan)
			procs[i].state = P_RUNNABLE;
}

int proc_fork(void)
{
	struct proc *p = curproc, *np = proc_create(p->name);

	if (!np)
		return -PN_EAGAIN;
	if (vm_fork(&np->vm, &p->vm) < 0) {
		np->state = P_FREE;
		return -PN_ENOMEM;
	}
	np->heap_start = p->heap_start;
	np->brk = p->brk;
	np->mmap_next = p->mmap_next;
	np->parent = p;
	for (int i = 0; i < NFD; i++)
		np->fd[i] = p->fd[i] ? file_dup(p->fd[i]) : NULL;
	*np->tf = *p->tf;
	np->tf->eax = 0;
	np->state = P_RUNNABLE;
	return np->pid;
}

/*
 * Leave the address space before freeing it, pass the children to init,
 * and wait as a ZOMBIE for the parent, whose wait() frees the slot.
 */
void proc_exit(int status)
{
	struct proc *p = curproc;

	if (p == initproc) {
		kprintf("penumbra: init exited with status %d\n", status);
		mach_poweroff(status ? status : 1);
	}
	for (int i = 0; i < NFD; i++)
		if (p->fd[i]) {
			file_close(p->fd[i]);
			p->fd[i] = NULL;
		}
	vm_activate_kernel(kstack_top(p));
	vm_destroy(&p->vm);
	for (unsigned i = 0; i < NPROC; i++)
		if (procs[i].parent == p && procs[i].state != P_FREE) {
			procs[i].parent = initproc;
			if (procs[i].state == P_ZOMBIE)
				wakeup(initproc);
		}
	p->status = status;
	p->state = P_ZOMBIE;
	wakeup(p->parent);
	schedule();
	panic("zombie %d ran", p->pid);
}

int proc_wait(int *status)
{
	struct proc *p = curproc;

	for (;;) {
		bool children = false;

		for (unsigned i = 0; i < NPROC; i++) {
			struct proc *c = &procs[i];

			if (c->state == P_FREE || c->parent != p)
				continue;
			children = true;
			if (c->state == P_ZOMBIE) {
				int pid = c->pid;

				*status = c->status;
				proc_free(c);
				return pid;
			}
		}
		if (!children)
			return -PN_ECHILD;
		if (p->killed)
			return -PN_EINTR;
		sleep_on(p);
	}
}

int proc_kill(int pid)
{
	struct proc *p = proc_find(pid);

	if (!p || p->state == P_ZOMBIE || p->state == P_EMBRYO)
		return -PN_ESRCH;
	if (p == initproc)
		return -PN_EPERM;
	p->killed = true;
	if (p->state == P_SLEEPING)
		p->state = P_RUNNABLE;
	return 0;
}

/* A process did what it may not: one line, then it is gone. */
void proc_kill_fault(const char *what, uint32_t addr)
{
	kprintf("penumbra: pid %d (%s) killed: %s at 0x%x\n", curproc->pid, curproc->name, what, addr);
	proc_exit(PN_STATUS_FAULT);
}
