/*
 * Serial console input (console_in.c): typed bytes go to one place at a
 * time, the guest with focus or the hypervisor's debug keys, and Ctrl-A
 * typed three times in a row moves the focus on.
 */
#ifndef UMBRA_HV_CONSOLE_IN_H
#define UMBRA_HV_CONSOLE_IN_H

#include "guest.h"

#define CONSOLE_IN_BUF		256	/* bytes kept per guest until it reads them */
#define CONSOLE_READ_MAX	4096

/* Take what the UART has received (its interrupt). */
void console_in_poll(void);

/* CONSOLE_READ: copy up to `size` waiting bytes to gva `buf`; how many. */
s32 console_in_read(struct guest *g, gva_t buf, u32 size);

/* Whether console input goes to g now. */
bool console_in_focus(const struct guest *g);

/* The guest ended: its input, and the focus if it had it, move on. */
void console_in_forget(struct guest *g);

#endif
