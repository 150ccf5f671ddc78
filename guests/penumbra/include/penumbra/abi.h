/*
 * The penumbra system-call interface, shared by the kernel and its user
 * library: `int $PN_SYSCALL_VECTOR` with eax = number, ebx, ecx, edx, esi =
 * arguments; eax = result, a negative PN_E* code on failure.
 */
#ifndef PENUMBRA_ABI_H
#define PENUMBRA_ABI_H

#include <stdint.h>

#define PN_SYSCALL_VECTOR	0x80

/* Every call, in one list: the kernel's table and the user stubs read it. */
#define PN_SYSCALLS(X)		\
	X(1, exit)		\
	X(2, wait)		\
	X(3, fork)		\
	X(4, exec)		\
	X(5, getpid)		\
	X(6, sbrk)		\
	X(7, write)		\
	X(8, read)		\
	X(9, sleep)		\
	X(10, uptime)		\
	X(11, kill)		\
	X(12, mmap)		\
	X(13, munmap)		\
	X(14, pipe)		\
	X(15, dup)		\
	X(16, close)		\
	X(17, open)		\
	X(18, readdir)		\
	X(19, procinfo)		\
	X(20, counters)		\
	X(21, meminfo)		\
	X(22, poweroff)		\
	X(23, setfg)

enum pn_syscall {
#define PN_ENUM(nr, name) PN_SYS_##name = nr,
	PN_SYSCALLS(PN_ENUM)
#undef PN_ENUM
	PN_SYS_COUNT
};

/* Error results (the Unix numbers, negated). */
#define PN_EPERM	1
#define PN_ENOENT	2
#define PN_ESRCH	3
#define PN_EINTR	4
#define PN_ENOEXEC	8
#define PN_EBADF	9
#define PN_ECHILD	10
#define PN_EAGAIN	11
#define PN_ENOMEM	12
#define PN_EFAULT	14
#define PN_EINVAL	22
#define PN_EMFILE	24
#define PN_EPIPE	32
#define PN_ENOSYS	38

/* Exit statuses of processes the kernel ended. */
#define PN_STATUS_KILLED	137	/* kill() or ^C */
#define PN_STATUS_FAULT		139	/* a bad access or instruction */

/* User memory: programs are linked at PN_USER_BASE, the stack ends at PN_STACK_TOP. */
#define PN_USER_BASE	0x08048000u
#define PN_MMAP_BASE	0x40000000u
#define PN_STACK_TOP	0xbfff0000u
#define PN_STACK_PAGES	16	/* 64 KiB, promised (reserved) at exec */

#define PN_NAME_MAX	16
#define PN_MAXARG	16

/* One process, as procinfo(index, &info) reports it. */
struct pn_procinfo {
	int32_t pid, ppid;
	int32_t state;		/* 1 runnable, 2 running, 3 sleeping, 4 zombie */
	uint32_t pages;		/* user frames mapped */
	char name[PN_NAME_MAX];
};

/*
 * What the machine has done for this kernel so far (counters()): on umbra
 * the shared page's figures, natively zeros; `pv` says which.
 *
 * Then what this kernel itself did, counted the same way on both machines,
 * for benchmarks that model what its expensive instructions cost: traps
 * taken from user mode (a ring change) and in the kernel (none), of them
 * the system calls, returns to user mode and within the kernel, page
 * faults from user mode, and frames zeroed (4 KiB each). The privileged
 * instructions the kernel executes itself are the machine's to count:
 * natively CR3 loads, invlpg and GDT/IDT/TSS loads; on PV none (umbra's
 * figures above count what it did for the kernel).
 */
struct pn_counters {
	uint64_t world_switches, hypercalls, cr3_loads, desc_loads, shadow_faults, reflected;
	uint32_t pv;
	uint32_t tsc_khz;
	uint64_t traps_user, traps_kernel, syscalls, irets_user, irets_kernel, user_faults;
	uint64_t zeroed_frames;
	uint64_t own_cr3_loads, own_invlpgs, own_desc_loads;
};

/* meminfo(&m) */
struct pn_meminfo {
	uint32_t free_frames, total_frames, reserved_frames;
	uint32_t procs, proc_limit;
};

#endif
