/*
 * selftest: the kernel's behaviour as a process sees it, one line per
 * check: "PASS what" or "FAIL what: why", then a summary. Checks that end
 * a process on purpose (bad accesses) run in a child and look at its exit
 * status.
 */
#include "ulib.h"

#define PAGE		4096u
#define MiB		(1024u * 1024u)

static int passed, failed;

static void check(int ok, const char *what, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	if (ok) {
		passed++;
		printf("PASS %s\n", what);
		return;
	}
	failed++;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	printf("FAIL %s: %s\n", what, why);
}

#define EXPECT(expr, want, what) do {						\
	long got_ = (long)(expr);						\
	check(got_ == (long)(want), what, "%s gave %ld, expected %ld", #expr, got_, (long)(want)); \
} while (0)

static uint32_t free_frames(void)
{
	struct pn_meminfo m;

	meminfo(&m);
	return m.free_frames;
}

/* Run fn in a child; its exit status, or -1. */
static int in_child(void (*fn)(void))
{
	int pid = fork(), status = -1;

	if (pid == 0) {
		fn();
		exit(0);
	}
	if (pid < 0 || wait(&status) != pid)
		return -1;
	return status;
}

static void test_errors(void)
{
	char buf[8];
	int fds[2];

	EXPECT(write(99, "x", 1), -PN_EBADF, "write to a bad descriptor fails with EBADF");
	EXPECT(write(1, NULL, 10), -PN_EFAULT, "write from a null buffer fails with EFAULT");
	EXPECT(read(0, (void *)0xc0000000, 8), -PN_EFAULT, "read into kernel memory fails with EFAULT");
	EXPECT(read(99, buf, 8), -PN_EBADF, "read from a bad descriptor fails with EBADF");
	EXPECT(close(99), -PN_EBADF, "close of a bad descriptor fails with EBADF");
	EXPECT(dup(-1), -PN_EBADF, "dup of a bad descriptor fails with EBADF");
	EXPECT(kill(99999), -PN_ESRCH, "kill of a missing pid fails with ESRCH");
	EXPECT(kill(1), -PN_EPERM, "kill of init fails with EPERM");
	EXPECT(wait((int *)0xc0000000), -PN_EFAULT, "wait with a bad status pointer fails with EFAULT");
	EXPECT(pipe(NULL), -PN_EFAULT, "pipe with a null array fails with EFAULT");
	EXPECT(mmap_raw(0), -PN_EINVAL, "mmap of zero bytes fails with EINVAL");
	EXPECT(munmap((void *)(PN_MMAP_BASE + 1), PAGE), -PN_EINVAL, "munmap of an unaligned address fails with EINVAL");
	EXPECT(sbrk_raw(-0x10000000), -PN_ENOMEM, "sbrk below the heap fails with ENOMEM");
	EXPECT(open("no-such-file"), -PN_ENOENT, "open of a missing file fails with ENOENT");
	EXPECT(syscall4(999, 0, 0, 0, 0), -PN_ENOSYS, "an unknown system call fails with ENOSYS");
	EXPECT(exec((const char *)8, NULL), -PN_EFAULT, "exec with a bad path pointer fails with EFAULT");
	(void)fds;
}

static void test_basics(void)
{
	uint32_t t0 = uptime_ms();
	int pid = getpid();

	check(pid > 1, "getpid returns our pid", "got %d", pid);
	EXPECT(write(1, "", 0), 0, "write of nothing returns 0");
	EXPECT(sleep_ms(50), 0, "sleep returns 0");
	check(uptime_ms() - t0 >= 50, "uptime advances across a sleep of 50 ms", "%u ms",
	      uptime_ms() - t0);
}

static void test_wait(void)
{
	int status = -1, pid = fork();

	if (pid == 0)
		exit(42);
	EXPECT(wait(&status), pid, "wait returns the child's pid");
	EXPECT(status, 42, "wait returns the child's exit code");
	EXPECT(wait(&status), -PN_ECHILD, "wait without children fails with ECHILD");
}

static volatile int shared_word = 7;

static void test_fork_isolation(void)
{
	int fds[2], status = -1, pid;
	char c;

	pipe(fds);
	pid = fork();
	if (pid == 0) {
		shared_word = 100;
		read(fds[0], &c, 1);		/* the parent has written its own value */
		exit(shared_word == 100 ? 0 : 1);
	}
	shared_word = 200;
	write(fds[1], "x", 1);
	wait(&status);
	close(fds[0]);
	close(fds[1]);
	check(status == 0 && shared_word == 200, "fork isolation: parent and child each see their own write",
	      "child status %d, parent sees %d", status, shared_word);
	EXPECT(getpid() != pid, 1, "the child has a pid of its own");
}

#define COW_PAGES	1000

static void test_cow(void)
{
	uint32_t *mem = sbrk(COW_PAGES * PAGE), before;
	int status = -1, pid, bad = 0;

	if (mem == (void *)-1) {
		check(0, "COW after fork of 1000 pages", "sbrk failed");
		return;
	}
	for (unsigned i = 0; i < COW_PAGES; i++)
		mem[i * PAGE / 4] = i;
	before = free_frames();
	pid = fork();
	if (pid == 0) {
		for (unsigned i = 0; i < COW_PAGES; i++)
			if (mem[i * PAGE / 4] != i)
				exit(1);
		for (unsigned i = 0; i < COW_PAGES; i++)
			mem[i * PAGE / 4] = i + 5000;
		for (unsigned i = 0; i < COW_PAGES; i++)
			if (mem[i * PAGE / 4] != i + 5000)
				exit(2);
		exit(0);
	}
	wait(&status);
	for (unsigned i = 0; i < COW_PAGES; i++)
		bad += mem[i * PAGE / 4] != i;
	check(status == 0 && !bad, "COW after fork of 1000 pages: the child's writes stay its own",
	      "child status %d, %d parent pages changed", status, bad);
	check(free_frames() == before, "COW: every frame of the child comes back",
	      "%u free before fork, %u after wait", before, free_frames());
	sbrk(-(intptr_t)(COW_PAGES * PAGE));
}

static void test_exec(void)
{
	char *argv[] = { "echo", "exec", "works", NULL };
	int status = -1, pid;

	EXPECT(exec("no-such-program", argv), -PN_ENOENT, "exec of a missing file fails with ENOENT");
	EXPECT(exec("bad", argv), -PN_ENOEXEC, "exec of a corrupt file fails with ENOEXEC");
	EXPECT(exec("motd", argv), -PN_ENOEXEC, "exec of a text file fails with ENOEXEC");
	pid = fork();
	if (pid == 0) {
		exec("echo", argv);
		exit(99);
	}
	wait(&status);
	EXPECT(status, 0, "fork, exec of echo and wait");
}

static void test_many(void)
{
	int fds[2], pids[64], n = 0, reaped = 0, codes = 0;
	struct pn_meminfo m;
	char c;

	pipe(fds);
	meminfo(&m);
	for (; n < 64; n++) {
		pids[n] = fork();
		if (pids[n] == 0) {
			close(fds[1]);
			read(fds[0], &c, 1);	/* end of file when the parent closes */
			exit(n);
		}
		if (pids[n] < 0)
			break;
	}
	meminfo(&m);
	close(fds[1]);
	close(fds[0]);
	for (int status; reaped < n && wait(&status) >= 0; reaped++)
		codes += status;
	check(n == 64 && m.procs >= 64 + 2, "64 processes at once", "forked %d, %u processes, then %s",
	      n, m.procs, n < 64 ? strerror(pids[n]) : "none");
	check(reaped == 64 && codes == 63 * 64 / 2, "64 processes: every exit code through wait",
	      "reaped %d, codes summed to %d", reaped, codes);
}

static void bomb(void)
{
	int fds[2], n = 0, r = 0;
	char c;

	pipe(fds);
	while ((r = fork()) > 0)
		n++;
	if (r == 0) {
		close(fds[1]);
		read(fds[0], &c, 1);
		exit(0);
	}
	close(fds[1]);
	while (wait(NULL) >= 0)
		;
	exit(r == -PN_EAGAIN && n > 10 ? 0 : 1);
}

static void test_bomb(void)
{
	struct pn_meminfo before, after;
	int status;

	meminfo(&before);
	status = in_child(bomb);
	meminfo(&after);
	check(status == 0, "a fork bomb is held by the process limit", "bomber status %d", status);
	check(after.procs == before.procs && after.free_frames == before.free_frames,
	      "after the fork bomb every process and frame is back", "procs %u -> %u, frames %u -> %u",
	      before.procs, after.procs, before.free_frames, after.free_frames);
}

static void test_sbrk_exhaustion(void)
{
	uint32_t before = free_frames(), total = 0;
	long r;
	char *start = sbrk(0);

	while ((r = sbrk_raw(MiB)) >= 0)
		total += MiB;
	check(r == -PN_ENOMEM && total >= 4 * MiB, "sbrk to exhaustion fails with ENOMEM",
	      "got %ld after %u MiB", r, total / MiB);
	for (uint32_t off = 0; off < total; off += MiB)
		start[off] = 1;
	EXPECT(sbrk_raw(-(intptr_t)total) >= 0, 1, "sbrk gives it all back");
	/* Leaf tables stay until exit: one per 2 or 4 MiB, and PAE directories. */
	check(free_frames() + total / (2 * MiB) + 2 >= before, "sbrk: the heap's frames come back",
	      "%u before, %u after", before, free_frames());
}

static void test_mmap_exhaustion(void)
{
	uint32_t before = free_frames(), n = 0;
	static long maps[1024];
	long r;

	while (n < 1024 && (r = mmap_raw(MiB)) > 0)
		maps[n++] = r;
	check(r == -PN_ENOMEM && n >= 4, "mmap to exhaustion fails with ENOMEM", "got %ld after %u MiB",
	      r, n);
	for (uint32_t i = 0; i < n; i++)
		*(volatile char *)maps[i] = 1;
	for (uint32_t i = 0; i < n; i++)
		munmap((void *)maps[i], MiB);
	check(free_frames() + n / 2 + 4 >= before, "mmap: the frames come back after munmap",
	      "%u before, %u after", before, free_frames());
	r = mmap_raw(3 * PAGE);
	check(r > 0 && ((*(volatile int *)(r + PAGE)) == 0), "mmap after exhaustion gives zeroed memory",
	      "mmap gave %ld", r);
	munmap((void *)r, 3 * PAGE);
}

/* In a child, so that its page tables come back too, at its exit. */
static void test_exhaustion(void)
{
	uint32_t before = free_frames();
	int pid = fork(), status = -1;

	if (pid == 0) {
		int failed_before = failed;

		test_sbrk_exhaustion();
		test_mmap_exhaustion();
		exit(failed - failed_before);
	}
	wait(&status);
	check(status == 0 && free_frames() == before, "after exhaustion every frame is back at exit",
	      "status %d, %u free before, %u after", status, before, free_frames());
}

static void touch_unmapped(void)
{
	long p = mmap_raw(PAGE);

	*(volatile int *)p = 1;
	munmap((void *)p, PAGE);
	*(volatile int *)p = 2;
}

static void write_null(void) { *(volatile int *)0 = 1; }
static void write_text(void) { *(volatile uint8_t *)(uintptr_t)&write_text = 0xc3; }
static void read_kernel(void) { (void)*(volatile int *)0xc0100000; }
static void illegal(void) { __asm__ volatile("ud2"); }
static void privileged(void) { __asm__ volatile("cli"); }
static void divide(void) { __asm__ volatile("xor %%ecx, %%ecx; div %%ecx" ::: "eax", "ecx", "edx"); }

static void test_faults(void)
{
	static const struct { const char *what; void (*fn)(void); } cases[] = {
		{ "munmap then access kills the process", touch_unmapped },
		{ "a null pointer write kills the process", write_null },
		{ "a write to the program's text kills the process", write_text },
		{ "a read of kernel memory kills the process", read_kernel },
		{ "an illegal instruction kills the process", illegal },
		{ "a privileged instruction kills the process", privileged },
		{ "a division by zero kills the process", divide },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int status = in_child(cases[i].fn);

		check(status == PN_STATUS_FAULT, cases[i].what, "status %d", status);
	}
}

#define WRITERS		3
#define READERS		3
#define PER_WRITER	3000

static void test_pipes(void)
{
	int data[2], result[2], status, total = 0;
	char buf[64];

	pipe(data);
	pipe(result);
	for (int i = 0; i < WRITERS + READERS; i++) {
		if (fork() != 0)
			continue;
		if (i < WRITERS) {
			memset(buf, 'a' + i, sizeof(buf));
			for (int n = 0; n < PER_WRITER; n += 50)
				write(data[1], buf, 50);
			exit(0);
		}
		close(data[1]);
		int got = 0, n;

		while ((n = read(data[0], buf, sizeof(buf))) > 0)
			got += n;
		write(result[1], &got, sizeof(got));
		exit(0);
	}
	close(data[0]);
	close(data[1]);
	close(result[1]);
	for (int i = 0, got; i < READERS && read(result[0], &got, sizeof(got)) == sizeof(got); i++)
		total += got;
	while (wait(&status) >= 0)
		;
	close(result[0]);
	EXPECT(total, WRITERS * PER_WRITER, "pipes: three writers, three readers, every byte read once");

	pipe(data);
	close(data[1]);
	EXPECT(read(data[0], buf, 1), 0, "pipe: read with the write end closed is end of file");
	close(data[0]);
	pipe(data);
	close(data[0]);
	EXPECT(write(data[1], "x", 1), -PN_EPIPE, "pipe: write with the read end closed fails with EPIPE");
	close(data[1]);
	pipe(data);
	int d = dup(data[1]);

	close(data[1]);
	write(d, "dup", 3);
	close(d);
	check(read(data[0], buf, sizeof(buf)) == 3 && !memcmp(buf, "dup", 3) && read(data[0], buf, 1) == 0,
	      "dup: a duplicate writes into the same pipe, and closing it ends the file", "no");
	close(data[0]);
}

static void spin(void)
{
	for (;;)
		;
}

static void test_scheduling(void)
{
	int busy = fork(), status = -1, worst = 0;

	if (busy == 0)
		spin();
	for (int i = 0; i < 3; i++) {
		uint32_t t0 = uptime_ms();

		sleep_ms(30);
		if ((int)(uptime_ms() - t0) > worst)
			worst = (int)(uptime_ms() - t0);
	}
	check(worst < 200, "a busy process does not starve a sleeping one", "a 30 ms sleep took %d ms",
	      worst);
	kill(busy);
	wait(&status);
	EXPECT(status, PN_STATUS_KILLED, "kill ends a busy process, and wait says so");

	int sleeper = fork();

	if (sleeper == 0) {
		sleep_ms(100000);
		exit(0);
	}
	sleep_ms(20);
	uint32_t t0 = uptime_ms();

	kill(sleeper);
	wait(&status);
	check(status == PN_STATUS_KILLED && uptime_ms() - t0 < 500, "kill wakes a sleeping process",
	      "status %d after %u ms", status, uptime_ms() - t0);
}

static void test_files(void)
{
	char name[24], buf[128];
	int found = 0, fd, n;

	for (unsigned i = 0; readdir(i, name) >= 0; i++)
		found += !strcmp(name, "init") || !strcmp(name, "selftest");
	EXPECT(found, 2, "readdir lists the archive");
	fd = open("motd");
	n = fd >= 0 ? read(fd, buf, sizeof(buf)) : fd;
	check(n > 9 && !memcmp(buf, "penumbra:", 9), "open and read a file of the archive", "read %d", n);
	close(fd);
}

int main(int argc, char **argv)
{
	printf("selftest: starting, pid %d\n", getpid());
	test_basics();
	test_errors();
	test_wait();
	test_fork_isolation();
	test_cow();
	test_exec();
	test_many();
	test_bomb();
	test_exhaustion();
	test_faults();
	test_pipes();
	test_scheduling();
	test_files();
	printf("selftest: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
