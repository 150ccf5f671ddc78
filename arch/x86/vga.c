#include "vga.h"
#include "../../lib/string.h"
#include "../../lib/types.h"

#define VGA_TEXT	((volatile u16 *)0xb8000)
#define COLS		80
#define ROWS		25
#define ATTR		0x0700	/* light grey on black */

static unsigned row, col;

static void scroll(void)
{
	for (unsigned i = 0; i < (ROWS - 1) * COLS; i++)
		VGA_TEXT[i] = VGA_TEXT[i + COLS];
	for (unsigned i = 0; i < COLS; i++)
		VGA_TEXT[(ROWS - 1) * COLS + i] = ATTR | ' ';
	row = ROWS - 1;
}

void vga_init(void)
{
	for (unsigned i = 0; i < ROWS * COLS; i++)
		VGA_TEXT[i] = ATTR | ' ';
	row = col = 0;
}

void vga_putc(char c)
{
	if (c == '\n' || col == COLS) {
		col = 0;
		if (++row == ROWS)
			scroll();
		if (c == '\n')
			return;
	}
	VGA_TEXT[row * COLS + col++] = ATTR | (u8)c;
}
