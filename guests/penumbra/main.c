/* The kernel's start: memory, the archive, the machine, then init. */
#include "kernel.h"
#include "archive.h"
#include "file.h"
#include "frame.h"
#include "proc.h"
#include "syscall.h"

struct boot_params boot_params;

/* init's arguments: its name, then the words of the boot command line. */
static int split_cmdline(const char *cmdline, char *buf, uint32_t size, char *argv[])
{
	int argc = 0;
	uint32_t used = 0;

	argv[argc++] = "init";
	while (*cmdline && argc < PN_MAXARG) {
		while (*cmdline == ' ')
			cmdline++;
		if (!*cmdline)
			break;
		argv[argc++] = buf + used;
		while (*cmdline && *cmdline != ' ' && used < size - 1)
			buf[used++] = *cmdline++;
		buf[used++] = '\0';
	}
	argv[argc] = NULL;
	return argc;
}

static void start_init(void)
{
	static char buf[256];
	char *argv[PN_MAXARG + 1];
	int argc = split_cmdline(boot_params.cmdline, buf, sizeof(buf), argv);
	struct proc *p = proc_create("init");
	struct file *console = file_new(F_CONSOLE);
	int r;

	if (!p || !console)
		panic("no memory for init");
	if ((r = exec_into(p, "init", argv, argc)) < 0)
		panic("cannot run init: %d", r);
	for (int fd = 0; fd < 3; fd++)
		p->fd[fd] = fd ? file_dup(console) : console;
	proc_start(p);
}

void kmain(const struct boot_params *bp)
{
	frame_init(bp->free_start, bp->mem_end);
	vm_init(bp->kernel_top, bp->mem_end);
	archive_init();
	mach_init();
	kprintf("penumbra: %s kernel, %s paging, %u KiB of memory, %u frames free\n", mach_name(),
		PT->name, bp->mem_end / 1024, frame_free_count());
	start_init();
	schedule_first();
}
