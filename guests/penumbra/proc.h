/*
 * Processes: a fixed table, each slot with its own kernel stack. A process
 * is EMBRYO while fork or kmain builds it, RUNNABLE or RUNNING, SLEEPING on
 * a channel, and a ZOMBIE from exit until its parent's wait frees it.
 */
#ifndef PENUMBRA_PROC_H
#define PENUMBRA_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include "machine.h"
#include "vm.h"

#define NPROC		72	/* the process limit: fork fails beyond it */
#define NFD		40
#define KSTACK_SIZE	8192

enum proc_state { P_FREE, P_RUNNABLE, P_RUNNING, P_SLEEPING, P_ZOMBIE, P_EMBRYO };

struct file;

struct proc {
	enum proc_state state;
	int pid;
	struct proc *parent;
	char name[PN_NAME_MAX];
	struct vm vm;
	uint32_t heap_start, brk;	/* [heap_start, brk): sbrk's pages */
	uint32_t mmap_next;		/* where mmap looks first */
	uint32_t ctx;			/* saved kernel esp (swtch) */
	struct trapframe *tf;		/* the user frame at the top of kstack */
	uint8_t *kstack;
	const void *chan;		/* what a sleeper waits for */
	bool killed;
	int status;			/* exit status, for wait */
	struct file *fd[NFD];
};

extern struct proc *curproc;

struct proc *proc_create(const char *name);	/* EMBRYO with a fresh user frame */
void proc_start(struct proc *p);		/* EMBRYO -> RUNNABLE */
struct proc *proc_find(int pid);
struct proc *proc_slot(unsigned i);
unsigned proc_count(void);

int proc_fork(void);
void proc_exit(int status) __attribute__((noreturn));
int proc_wait(int *status);
int proc_kill(int pid);
void proc_kill_fault(const char *what, uint32_t addr);

void yield(void);
/* Sleep until wakeup(chan) or a kill; the caller rechecks its condition. */
void sleep_on(const void *chan);
void wakeup(const void *chan);
void schedule_first(void) __attribute__((noreturn));

uint32_t kstack_top(struct proc *p);

#endif
