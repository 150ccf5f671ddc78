/*
 * What the simulator stands on (see sim_internal.h): the machine, with
 * simulated RAM, the frame allocator, the Switcher's table and a console;
 * the source of random decisions; and the record of failures with the
 * operations that led to them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define TRACE_LINES	16

const char *const sim_check_names[CK_COUNT] = {
	[CK_AGREE] = "every present shadow entry agrees with the guest's tables",
	[CK_FAULT] = "faults and translations: FIXED allows the access, GUEST only when the guest forbids it",
	[CK_AD] = "accessed and dirty bits: A before a shadow entry, D before a writable one",
	[CK_CALLS] = "page-table calls in valid use succeed and never kill the guest",
	[CK_STRUCT] = "shadow structure, reference counts and frame counts",
	[CK_STACK] = "the kernel stack stays mapped writable in the current shadow",
	[CK_LEAK] = "no frame leaks after guest_teardown",
	[CK_HOSTILE] = "hostile entries and arguments kill the guest cleanly",
};

struct sim_totals sim_totals;
bool sim_abort_on_failure;
void (*sim_before_abort)(enum sim_check k);

/* ---- the machine: RAM, frames, the Switcher's table, console ----------- */

static struct frame *frame_table;
mfn_t sw_pt;
static u8 sw_image[PAGE_SIZE];
static char last_msg[512];

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
}

/* Levelled messages are the hypervisor's chatter; the tests keep none of it. */
void klog(unsigned level, const char *fmt, ...)
{
	(void)level, (void)fmt;
}

/* The guest's console is the hypervisor's business; the shadow tests print none. */
void guest_console_flush(struct guest *g)
{
	(void)g;
}

/* Nor does it read console input. */
void console_in_forget(struct guest *g)
{
	(void)g;
}

const char *sim_last_message(void)
{
	return last_msg;
}

mfn_t switcher_guest_pt(void)
{
	return sw_pt;
}

mfn_t sim_switcher_pt(void)
{
	return sw_pt;
}

bool sim_switcher_intact(void)
{
	return !memcmp(mfn_to_virt(sw_pt), sw_image, PAGE_SIZE);
}

void sim_machine_init(void)
{
	void *sw;

	if (hosted_ram)
		return;
	hosted_ram = aligned_alloc(PAGE_SIZE, RAM_BYTES);
	frame_table = calloc(RAM_BYTES >> PAGE_SHIFT, sizeof(*frame_table));
	if (!hosted_ram || !frame_table) {
		fprintf(stderr, "shadow_sim: out of host memory\n");
		exit(2);
	}
	memset(hosted_ram, 0, RAM_BYTES);
	frame_init(frame_table, RAM_BYTES >> PAGE_SHIFT, RAM_BYTES >> PAGE_SHIFT);
	frame_add_ram(MiB(1), RAM_BYTES);
	frame_seal();

	/* The guests' view of the Switcher: code and read-only page, register page writable. */
	sw_pt = frame_alloc_zeroed(FRAME_SWITCHER, NO_GUEST);
	sw = mfn_to_virt(sw_pt);
	pte_set(F, sw, 0, (0x100ull << PAGE_SHIFT) | P | A);
	pte_set(F, sw, 1, (0x101ull << PAGE_SHIFT) | P | W | A | D);
	pte_set(F, sw, 2, (0x102ull << PAGE_SHIFT) | P | A);
	memcpy(sw_image, sw, PAGE_SIZE);
}

/* ---- random decisions: a seeded generator or a fuzzer's bytes ----------- */

struct source src;

u32 next32(void)
{
	u64 z;

	if (src.data) {
		u32 v = 0;

		for (int i = 0; i < 4; i++) {
			if (src.pos >= src.len) {
				src.out = true;
				break;
			}
			v = v << 8 | src.data[src.pos++];
		}
		return v;
	}
	z = (src.state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (u32)((z ^ (z >> 31)) >> 16);
}

/* A number in [0, n); a fuzzer's input pays one byte for a small n. */
u32 pick(u32 n)
{
	if (n <= 1)
		return 0;
	if (src.data && n <= 256) {
		if (src.pos >= src.len) {
			src.out = true;
			return 0;
		}
		return src.data[src.pos++] % n;
	}
	return next32() % n;
}

bool coin(unsigned percent)
{
	return pick(100) < percent;
}

u64 next64(void)
{
	u64 hi = next32();

	return hi << 32 | next32();
}

/* ---- failures and the trace --------------------------------------------- */

u64 run_seed, run_step;
bool run_failed, tracing, stop_run;
static char trace_ring[TRACE_LINES][200];
unsigned trace_next;

__attribute__((format(printf, 1, 2)))
void note(const char *fmt, ...)
{
	char *line = trace_ring[trace_next++ % TRACE_LINES];
	int n = snprintf(line, sizeof(trace_ring[0]), "step %llu: ", (unsigned long long)run_step);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(trace_ring[0]) - n, fmt, ap);
	va_end(ap);
	if (tracing)
		printf("    %s\n", line);
}

__attribute__((format(printf, 2, 3)))
void fail(enum sim_check k, const char *fmt, ...)
{
	char msg[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	run_failed = true;
	if (sim_totals.fails[k]++ == 0 || sim_abort_on_failure) {
		char *t = sim_totals.trace[k];
		size_t used = 0, size = sizeof(sim_totals.trace[k]);
		unsigned n = MIN(trace_next, TRACE_LINES);

		if (src.data)
			snprintf(sim_totals.first[k], sizeof(sim_totals.first[k]), "fuzz input, step %llu: %s",
				 (unsigned long long)run_step, msg);
		else
			snprintf(sim_totals.first[k], sizeof(sim_totals.first[k]), "seed %llu step %llu: %s",
				 (unsigned long long)run_seed, (unsigned long long)run_step, msg);
		t[0] = '\0';
		for (unsigned i = 0; i < n && used < size; i++)
			used += snprintf(t + used, size - used, "    %s\n",
					 trace_ring[(trace_next - n + i) % TRACE_LINES]);
	}
	if (sim_abort_on_failure) {
		if (sim_before_abort)
			sim_before_abort(k);
		fprintf(stderr, "shadow check failed (%s): %s\nlast operations:\n%s",
			sim_check_names[k], sim_totals.first[k], sim_totals.trace[k]);
		abort();
	}
}
