#include "ulib.h"

static const char *const states[] = { "free", "run", "run", "sleep", "zombie", "new" };

int main(int argc, char **argv)
{
	struct pn_procinfo p;
	int r;

	printf("  PID  PPID STATE  PAGES NAME\n");
	for (unsigned i = 0; (r = procinfo(i, &p)) >= 0; i++)
		if (r == 1)
			printf("%5d %5d %-6s %5u %s\n", p.pid, p.ppid, states[p.state], p.pages, p.name);
	return 0;
}
