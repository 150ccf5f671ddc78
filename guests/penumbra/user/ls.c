#include "ulib.h"

int main(int argc, char **argv)
{
	char name[24];
	long size;

	for (unsigned i = 0; (size = readdir(i, name)) >= 0; i++)
		printf("%-16s %6ld\n", name, size);
	return 0;
}
