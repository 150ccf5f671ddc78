/*
 * The console's line discipline: input arrives from the machine (umbra's
 * CONSOLE_READ, or the UART) in interrupt context, is echoed and edited
 * here, and reaches readers a line at a time. ^C kills the foreground
 * process, ^D ends the line (alone on a line: end of file).
 */
#include "kernel.h"
#include "file.h"
#include "machine.h"
#include "proc.h"

#define INPUT_SIZE	256
#define CTRL(c)		((c) - '@')

static struct {
	char buf[INPUT_SIZE];
	uint32_t r, w, e;	/* read, written (committed), edited: all count up */
	int foreground;
} in;

static void echo(const char *s, uint32_t n)
{
	mach_console_write(s, n);
}

static void commit(void)
{
	in.w = in.e;
	wakeup(&in);
}

static void put(char c)
{
	if (in.e - in.r < INPUT_SIZE)
		in.buf[in.e++ % INPUT_SIZE] = c;
}

void console_input(const char *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		char c = s[i] == '\r' ? '\n' : s[i];

		if (c == CTRL('C')) {
			echo("^C\n", 3);
			in.e = in.w;
			if (in.foreground)
				proc_kill(in.foreground);
		} else if (c == CTRL('D')) {
			put(CTRL('D'));
			commit();
		} else if (c == '\b' || c == 0x7f) {
			if (in.e != in.w) {
				in.e--;
				echo("\b \b", 3);
			}
		} else if (c == '\n' || (c >= ' ' && c < 0x7f)) {
			put(c);
			echo(&c, 1);
			if (c == '\n' || in.e - in.r == INPUT_SIZE)
				commit();
		}
	}
}

/* Up to one line; 0 at ^D on an empty line. */
int console_read(char *buf, uint32_t n)
{
	uint32_t got = 0;

	while (in.r == in.w) {
		if (curproc->killed)
			return -PN_EINTR;
		sleep_on(&in);
	}
	while (got < n && in.r != in.w) {
		char c = in.buf[in.r++ % INPUT_SIZE];

		if (c == CTRL('D')) {
			if (got)
				in.r--;		/* end the line now, EOF next time */
			break;
		}
		buf[got++] = c;
		if (c == '\n')
			break;
	}
	return (int)got;
}

void console_set_foreground(int pid)
{
	in.foreground = pid;
}
