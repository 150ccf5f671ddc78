/*
 * Fuzzing the shadow page tables through the same simulated guest as
 * test_shadow.c: the fuzzer's bytes are the guest's decisions (which table,
 * which address, which value, announced or silent), and a few of them are
 * raw values handed straight to the page-table calls. Any disagreement
 * between shadow and guest tables, any leak, any sanitizer report aborts,
 * which the fuzzer records as a crash with its input.
 *
 * Built with clang's libFuzzer (-fsanitize=fuzzer) when there is one, else
 * with FUZZ_STANDALONE: a plain driver feeding random inputs to the same
 * entry point. Without arguments (as tests/run.py runs it) either does a
 * short deterministic run and prints one PASS line; `make fuzz` passes
 * -max_total_time and a corpus directory for a long run.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "shadow_sim.h"

#define FMT	(UMBRA_PAE ? "PAE" : "2-level")
#define TEST_RUNS	"2500"
#define MAX_LEN		"2048"	/* a byte a decision: some hundred steps */

static unsigned long inputs;
static double started;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sim_run(&(struct sim_options){ .data = data, .len = size, .steps = 400,
				       .hostile = true, .raw = true });
	inputs++;
	return 0;
}

/* Reached only when every input passed: a failure aborts first. */
static void report(void)
{
	double secs = now() - started;

	if (!inputs)
		return;
	check_done(true, check_fmt("%s: fuzzing the shadow code: %lu inputs, %llu steps, no failure (%.0f inputs/s, %.0f steps/s)",
				   FMT, inputs, (unsigned long long)sim_totals.steps,
				   inputs / (secs > 0 ? secs : 1e-9), sim_totals.steps / (secs > 0 ? secs : 1e-9)),
		   "");
}

/* The failure as a result line, before the abort the fuzzer records. */
static void failed(enum sim_check k)
{
	check_done(false, check_fmt("%s: fuzzing the shadow code: %s", FMT, sim_check_names[k]),
		   sim_totals.first[k]);
}

static void setup(void)
{
	sim_machine_init();
	sim_abort_on_failure = true;
	sim_before_abort = failed;
	started = now();
	atexit(report);
}

#ifdef FUZZ_STANDALONE

/* No libFuzzer: random inputs of random length, -runs=N or -max_total_time=S. */
int main(int argc, char **argv)
{
	unsigned long runs = strtoul(TEST_RUNS, NULL, 0), limit = 0;
	u64 state = 1;
	static uint8_t buf[2048];

	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "-runs=", 6))
			runs = strtoul(argv[i] + 6, NULL, 0);
		else if (!strncmp(argv[i], "-max_total_time=", 16))
			limit = strtoul(argv[i] + 16, NULL, 0), runs = ~0ul;
		else if (!strncmp(argv[i], "-seed=", 6))
			state = strtoull(argv[i] + 6, NULL, 0);
	}
	setup();
	for (unsigned long n = 0; n < runs; n++) {
		size_t len = 1 + (state >> 33) % sizeof(buf);

		for (size_t i = 0; i < len; i++) {
			state = state * 6364136223846793005ull + 1442695040888963407ull;
			buf[i] = (uint8_t)(state >> 56);
		}
		LLVMFuzzerTestOneInput(buf, len);
		if (limit && now() - started > limit)
			break;
	}
	return 0;
}

#else

/*
 * Run without arguments, a short deterministic run for the test suite;
 * with arguments, whatever the caller asks of libFuzzer.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char prefix[512];
	static char *test_argv[10];
	const char *self = (*argv)[0], *slash = strrchr(self, '/');

	setup();
	if (*argc > 1)
		return 0;
	snprintf(prefix, sizeof(prefix), "-artifact_prefix=%.*sfuzz-crash-%s-",
		 slash ? (int)(slash - self + 1) : 0, self, UMBRA_PAE ? "pae" : "2level");
	test_argv[0] = (*argv)[0];
	test_argv[1] = "-runs=" TEST_RUNS;
	test_argv[2] = "-seed=1";
	test_argv[3] = "-max_len=" MAX_LEN;
	test_argv[4] = "-len_control=0";
	test_argv[5] = prefix;
	test_argv[6] = "-print_final_stats=0";
	test_argv[7] = NULL;
	*argc = 7;
	*argv = test_argv;
	return 0;
}

#endif
