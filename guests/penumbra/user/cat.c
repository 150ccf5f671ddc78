#include "ulib.h"

static int copy(int fd)
{
	char buf[256];
	int n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(1, buf, (uint32_t)n) != n)
			return 1;
	return n < 0;
}

int main(int argc, char **argv)
{
	int bad = 0;

	if (argc < 2)
		return copy(0);
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i]);

		if (fd < 0) {
			dprintf(2, "cat: %s: %s\n", argv[i], strerror(fd));
			bad = 1;
			continue;
		}
		bad |= copy(fd);
		close(fd);
	}
	return bad;
}
