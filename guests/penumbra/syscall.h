#ifndef PENUMBRA_SYSCALL_H
#define PENUMBRA_SYSCALL_H

#include "machine.h"

void syscall(struct trapframe *tf);

/* trap.c: what the trap path counted, into counters()'s answer. */
void trap_counters(struct pn_counters *c);

/* exec.c: replace the current program; argv is in kernel memory. */
int exec(const char *path, char *const argv[], int argc);
struct proc;
int exec_into(struct proc *p, const char *path, char *const argv[], int argc);

#endif
