/*
 * bench: lmbench-style costs of the kernel's operations, one line each:
 *   BENCH op=NAME iters=N instr_per_op=X [COUNTER_per_op=X ...]
 * The TSC counts instructions under QEMU's -icount shift=0; on umbra the
 * shared page's counters say what the hypervisor did per operation.
 */
#include "ulib.h"

#define PAGE	4096u

struct sample {
	uint64_t tsc;
	struct pn_counters c;
};

static void take(struct sample *s)
{
	counters(&s->c);
	s->tsc = rdtsc();
}

/* x / n with two decimals. */
static void put_ratio(char *buf, size_t size, const char *name, uint64_t x, uint32_t n)
{
	uint64_t v = x * 100 / n;

	snprintf(buf, size, " %s_per_op=%llu.%02llu", name, v / 100, v % 100);
}

/*
 * umbra's console splits lines longer than 159 characters, so the counters
 * are split: the first two on the BENCH line, the rest on a BENCHPV line.
 */
static void report(const char *op, uint32_t iters, const struct sample *a, const struct sample *b)
{
	static const char *const names[] = { "world_switches", "hypercalls", "cr3_loads",
					     "desc_loads", "shadow_faults", "reflected" };
	const uint64_t *x = &a->c.world_switches, *y = &b->c.world_switches;
	char line[2][160], part[64];

	snprintf(line[0], sizeof(line[0]), "BENCH op=%s iters=%u instr_per_op=%llu", op, iters,
		 (b->tsc - a->tsc) / iters);
	snprintf(line[1], sizeof(line[1]), "BENCHPV op=%s", op);
	for (unsigned i = 0; b->c.pv && i < 6; i++) {
		char *l = line[i >= 2];

		put_ratio(part, sizeof(part), names[i], y[i] - x[i], iters);
		strlcpy(l + strlen(l), part, sizeof(line[0]) - strlen(l));
	}
	printf("%s\n", line[0]);
	if (b->c.pv)
		printf("%s\n", line[1]);
}

static void null_syscall(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		getpid();
}

/* A token goes round a ring of `procs` processes through pipes. */
static void ctxsw(uint32_t procs, uint32_t rounds, struct sample *a, struct sample *b)
{
	int fds[16][2], pids[16];
	char t = 't';

	for (uint32_t i = 0; i < procs; i++)
		pipe(fds[i]);
	for (uint32_t i = 1; i < procs; i++) {
		if ((pids[i] = fork()) == 0) {
			for (uint32_t r = 0; r < rounds; r++) {
				read(fds[i][0], &t, 1);
				write(fds[(i + 1) % procs][1], &t, 1);
			}
			exit(0);
		}
	}
	take(a);
	for (uint32_t r = 0; r < rounds; r++) {
		write(fds[1][1], &t, 1);
		read(fds[0][0], &t, 1);
	}
	take(b);
	for (uint32_t i = 1; i < procs; i++)
		wait(NULL);
	for (uint32_t i = 0; i < procs; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
}

static void fork_exit(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (fork() == 0)
			exit(0);
		wait(NULL);
	}
}

static void fork_exec(uint32_t n)
{
	char *argv[] = { "true", NULL };

	for (uint32_t i = 0; i < n; i++) {
		if (fork() == 0) {
			exec("true", argv);
			exit(1);
		}
		wait(NULL);
	}
}

static void touch(volatile char *p, uint32_t pages)
{
	for (uint32_t i = 0; i < pages; i++)
		p[i * PAGE] = 1;
}

int main(int argc, char **argv)
{
	struct sample a, b;
	uint32_t n;
	long m;

	take(&a); null_syscall(n = 2000); take(&b);
	report("null_syscall", n, &a, &b);

	for (uint32_t procs = 2; procs <= 16; procs *= 4 / (procs == 2 ? 1 : 2)) {
		char op[32];

		ctxsw(procs, n = 200, &a, &b);
		snprintf(op, sizeof(op), "ctxsw_pipe_%u", procs);
		report(op, n * procs, &a, &b);
		if (procs == 16)
			break;
	}

	take(&a); fork_exit(n = 50); take(&b);
	report("fork_exit_wait", n, &a, &b);
	take(&a); fork_exec(n = 50); take(&b);
	report("fork_exec_wait", n, &a, &b);

	m = mmap_raw(1000 * PAGE);
	take(&a); touch((char *)m, n = 1000); take(&b);
	report("demand_zero_fault", n, &a, &b);

	int pid = fork();

	if (pid == 0) {
		sleep_ms(1000000);
		exit(0);
	}
	take(&a); touch((char *)m, n = 1000); take(&b);
	report("cow_fault", n, &a, &b);
	kill(pid);
	wait(NULL);
	munmap((void *)m, 1000 * PAGE);

	take(&a);
	for (uint32_t i = 0; i < (n = 10); i++) {
		m = mmap_raw(1000 * PAGE);
		touch((char *)m, 1000);
		munmap((void *)m, 1000 * PAGE);
	}
	take(&b);
	report("mmap_touch_munmap_1000", n, &a, &b);

	take(&a);
	for (uint32_t i = 0; i < (n = 5); i++) {
		char *p = sbrk(4 << 20);

		touch(p, 1024);
		sbrk(-(4 << 20));
	}
	take(&b);
	report("sbrk_touch_4m", n, &a, &b);
	return 0;
}
