/*
 * The VGA text screen, a mirror of the serial console on PCs that have one
 * (hypervisor/display.c decides whether this one does, and its size).
 *
 * Scrolling by copying the screen up costs 2,000 moves a line, which a
 * guest printing empty lines would turn into most of the CPU. So the
 * screen is a window onto the whole 32 KiB of text memory (204 rows of
 * 80 columns): a new line moves the CRT controller's start address one
 * row on, and only when the window reaches the end of the memory is the
 * screen copied back to the start, once every 180 lines at 80x25.
 */
#include "vga.h"
#include "cpu.h"
#include "../../lib/types.h"

#define VGA_TEXT	((volatile u16 *)0xb8000)
#define TEXT_CELLS	0x4000			/* 16 Ki cells of text memory */
#define ATTR		0x0700			/* light grey on black */

#define CRTC_INDEX	0x3d4
#define CRTC_DATA	0x3d5
#define CRTC_START_HIGH	0x0c
#define CRTC_START_LOW	0x0d

static unsigned cols, rows;	/* the screen's */
static unsigned buf_rows;	/* rows of text memory */
static unsigned top;		/* the buffer row shown first */
static unsigned row, col;	/* the cursor, on the screen */

static void show(unsigned first)
{
	u16 start = (u16)(first * cols);

	outb(CRTC_INDEX, CRTC_START_HIGH);
	outb(CRTC_DATA, start >> 8);
	outb(CRTC_INDEX, CRTC_START_LOW);
	outb(CRTC_DATA, start & 0xff);
}

static void clear_row(unsigned r)
{
	volatile u32 *p = (volatile u32 *)&VGA_TEXT[r * cols];

	for (unsigned i = 0; i < cols / 2; i++)
		p[i] = (ATTR | ' ') * 0x10001u;
}

static void newline(void)
{
	col = 0;
	if (row < rows - 1) {
		row++;
		return;
	}
	if (top + rows == buf_rows) {
		for (unsigned i = 0; i < (rows - 1) * cols; i++)
			VGA_TEXT[i] = VGA_TEXT[(top + 1) * cols + i];
		top = 0;
	} else {
		top++;
	}
	clear_row(top + rows - 1);
	show(top);
}

void vga_init(unsigned ncols, unsigned nrows)
{
	cols = ncols;
	rows = nrows;
	buf_rows = TEXT_CELLS / cols;
	for (unsigned r = 0; r < rows; r++)
		clear_row(r);
	top = row = col = 0;
	show(0);
}

void vga_putc(char c)
{
	if (c == '\n') {
		newline();
		return;
	}
	if (col == cols)
		newline();
	VGA_TEXT[(top + row) * cols + col++] = ATTR | (u8)c;
}
