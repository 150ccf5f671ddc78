#include "ulib.h"

int main(int argc, char **argv)
{
	int bad = 0;

	for (int i = 1; i < argc; i++) {
		int r = kill(atoi(argv[i]));

		if (r < 0) {
			dprintf(2, "kill: %s: %s\n", argv[i], strerror(r));
			bad = 1;
		}
	}
	return bad;
}
