/*
 * bench: lmbench-style costs of the kernel's operations, one line each:
 *   BENCH op=NAME iters=N instr_per_op=X [COUNTER_per_op=X ...]
 * then BENCHPV (PV only) and BENCHEV lines, op=NAME COUNTER_per_op=X ...
 * The TSC counts instructions under QEMU's -icount shift=0; on umbra the
 * shared page's counters say what the hypervisor did per operation, and on
 * both machines the kernel's own counters what it did itself.
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
 * are split: on PV the first two of umbra's on the BENCH line, the rest on
 * a BENCHPV line; then, on both machines, the kernel's own counts on
 * BENCHEV lines, a few to a line (tools/bench.py joins them by op=).
 */
#define LINE_MAX	120

struct counter {
	const char *name;
	size_t offset;		/* of a uint64_t in struct pn_counters */
};

static void report_counters(const char *tag, const char *op, uint32_t iters,
			    const struct sample *a, const struct sample *b,
			    const struct counter *list, unsigned n)
{
	char line[160], part[64];
	size_t len = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t x = *(const uint64_t *)((const char *)&a->c + list[i].offset);
		uint64_t y = *(const uint64_t *)((const char *)&b->c + list[i].offset);

		if (len == 0)
			len = (size_t)snprintf(line, sizeof(line), "%s op=%s", tag, op);
		put_ratio(part, sizeof(part), list[i].name, y - x, iters);
		strlcpy(line + len, part, sizeof(line) - len);
		len = strlen(line);
		if (i + 1 == n || len + strlen(part) > LINE_MAX) {
			printf("%s\n", line);
			len = 0;
		}
	}
}

#define C(f)	{ #f, offsetof(struct pn_counters, f) }

static void report(const char *op, uint32_t iters, const struct sample *a, const struct sample *b)
{
	static const struct counter pv[] = { C(cr3_loads), C(desc_loads), C(shadow_faults),
					     C(reflected) };
	static const struct counter own[] = {
		C(traps_user), C(traps_kernel), C(syscalls), C(irets_user), C(irets_kernel),
		C(user_faults), C(zeroed_frames), C(own_cr3_loads), C(own_invlpgs), C(own_desc_loads),
	};
	char line[160], part[64];

	snprintf(line, sizeof(line), "BENCH op=%s iters=%u instr_per_op=%llu", op, iters,
		 (b->tsc - a->tsc) / iters);
	if (b->c.pv) {
		put_ratio(part, sizeof(part), "world_switches", b->c.world_switches - a->c.world_switches, iters);
		strlcpy(line + strlen(line), part, sizeof(line) - strlen(line));
		put_ratio(part, sizeof(part), "hypercalls", b->c.hypercalls - a->c.hypercalls, iters);
		strlcpy(line + strlen(line), part, sizeof(line) - strlen(line));
	}
	printf("%s\n", line);
	if (b->c.pv)
		report_counters("BENCHPV", op, iters, a, b, pv, sizeof(pv) / sizeof(pv[0]));
	report_counters("BENCHEV", op, iters, a, b, own, sizeof(own) / sizeof(own[0]));
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
