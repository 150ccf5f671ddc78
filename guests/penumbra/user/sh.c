/*
 * sh: reads command lines from its input. `a ; b` runs one after the
 * other, `a | b | c` a pipeline; built-ins: exit [status], help.
 */
#include "ulib.h"

#define MAX_WORDS	16
#define MAX_STAGES	8

static int split(char *s, char sep, char **parts, int max)
{
	int n = 0;

	while (s && n < max) {
		parts[n++] = s;
		s = strchr(s, sep);
		if (s)
			*s++ = '\0';
	}
	return n;
}

static int words(char *s, char **argv)
{
	int n = 0;

	while (*s && n < MAX_WORDS - 1) {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			*s++ = '\0';
		if (!*s)
			break;
		argv[n++] = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\n')
			s++;
	}
	argv[n] = NULL;
	return n;
}

static void child(char **argv, int in, int out)
{
	if (in >= 0) {
		close(0);
		dup(in);
		close(in);
	}
	if (out >= 0) {
		close(1);
		dup(out);
		close(out);
	}
	int r = exec(argv[0], argv);

	dprintf(2, "sh: %s: %s\n", argv[0], strerror(r));
	exit(127);
}

/* Returns the last stage's status. */
static int pipeline(char *line)
{
	char *stages[MAX_STAGES], *argv[MAX_STAGES][MAX_WORDS];
	int n = split(line, '|', stages, MAX_STAGES), in = -1, pids[MAX_STAGES], status = 0;

	for (int i = 0; i < n; i++)
		if (!words(stages[i], argv[i]))
			return n > 1 ? (dprintf(2, "sh: empty pipeline stage\n"), 1) : 0;
	if (!strcmp(argv[0][0], "exit"))
		exit(argv[0][1] ? atoi(argv[0][1]) : 0);
	if (!strcmp(argv[0][0], "help")) {
		printf("commands: echo cat ls ps kill poweroff selftest bench true; a | b; a ; b; exit\n");
		return 0;
	}
	for (int i = 0; i < n; i++) {
		int fds[2] = { -1, -1 };

		if (i + 1 < n && pipe(fds) < 0) {
			dprintf(2, "sh: pipe failed\n");
			return 1;
		}
		pids[i] = fork();
		if (pids[i] == 0) {
			if (fds[0] >= 0)
				close(fds[0]);
			child(argv[i], in, fds[1]);
		}
		if (in >= 0)
			close(in);
		if (fds[1] >= 0)
			close(fds[1]);
		in = fds[0];
		if (pids[i] < 0)
			dprintf(2, "sh: fork: %s\n", strerror(pids[i]));
	}
	setfg(pids[n - 1]);
	for (int i = 0; i < n; i++) {
		int st, pid = wait(&st);

		if (pid == pids[n - 1])
			status = st;
	}
	setfg(0);
	return status;
}

int main(int argc, char **argv)
{
	char line[256];
	int status = 0;

	for (;;) {
		int n;

		printf("$ ");
		flush();
		n = read(0, line, sizeof(line) - 1);
		if (n <= 0)
			return status;
		line[n] = '\0';
		char *cmds[8];
		int k = split(line, ';', cmds, 8);

		for (int i = 0; i < k; i++)
			status = pipeline(cmds[i]);
	}
}
