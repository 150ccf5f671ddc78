/*
 * init: runs the session its command line names (script=NAME[,NAME...]:
 * each program in turn) and powers off with status 0 only if every one
 * exited 0; without a script it runs the shell. It also reaps orphans.
 */
#include "ulib.h"

static int run(const char *prog)
{
	char *argv[] = { (char *)prog, NULL };
	int pid = fork(), status = -1, w;

	if (pid < 0) {
		printf("init: fork: %s\n", strerror(pid));
		return 1;
	}
	if (pid == 0) {
		int r = exec(prog, argv);

		printf("init: exec %s: %s\n", prog, strerror(r));
		exit(127);
	}
	setfg(pid);
	while ((w = wait(&status)) >= 0 && w != pid)
		;
	return status;
}

int main(int argc, char **argv)
{
	const char *script = NULL;
	char list[128];
	int failed = 0;

	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], "script=", 7))
			script = argv[i] + 7;
	if (!script)
		poweroff(run("sh"));
	strlcpy(list, script, sizeof(list));
	for (char *p = list, *next; p && *p; p = next) {
		int status;

		next = strchr(p, ',');
		if (next)
			*next++ = '\0';
		status = run(p);
		printf("init: %s exited with status %d\n", p, status);
		failed |= status != 0;
	}
	poweroff(failed);
}
