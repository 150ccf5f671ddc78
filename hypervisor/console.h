/* The hypervisor's console: COM1, mirrored to the VGA text screen. */
#ifndef UMBRA_HV_CONSOLE_H
#define UMBRA_HV_CONSOLE_H

#include "../lib/types.h"

/*
 * loglevel= on the command line: 0 shows only what went wrong and how the
 * run ended, 1 (the default) also the boot's progress and figures, 2 also
 * the shadow cache's decisions.
 */
enum { LOG_ERR, LOG_INFO, LOG_DEBUG };

void console_init(void);
void console_set_level(unsigned level);
void console_write(const char *s, size_t n);

/*
 * Output waits in a buffer for the UART's interrupt once console_start_irq()
 * has run; until then, and after console_unbuffered() (a panic), it goes
 * out before console_write returns. console_flush() sends what waits (before
 * power off). Guest output is taken only while the buffer has room for it
 * and CONSOLE_RESERVE more, kept for the hypervisor's own lines.
 */
#define CONSOLE_RESERVE	(8 * 1024)
void console_start_irq(void);
void console_flush(void);
void console_unbuffered(void);
bool console_has_room(u32 bytes);
void console_report(void);	/* in the summary: how long writers waited for the UART */

/*
 * A line that stays open after it is written, for output that goes out as
 * it comes (the focused guest's prompt and echo): `owner` continues it
 * while nothing else is printed; anything else ends it with a newline.
 */
bool console_write_open(const void *owner, const char *s, size_t n);
bool console_line_open(const void *owner);
void console_close_line(const void *owner);

void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void klog(unsigned level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
