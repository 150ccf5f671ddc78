/*
 * Which screen the console mirrors to.
 *
 * A PC booted by its BIOS has a VGA text screen at 0xb8000; one booted by
 * UEFI usually has none, only a framebuffer in some pixel format (or a VGA
 * left in a graphics mode, where text written to 0xb8000 is lost, or
 * nothing at all decoding those addresses). So the screen is used only
 * when something says it is there:
 *
 * - The Multiboot information's framebuffer fields (flags bit 12), which
 *   GRUB fills on BIOS (EGA text, 80x25 at 0xb8000) and on UEFI (the
 *   framebuffer it set up, when it has a video driver). EGA text at
 *   0xb8000 is used; anything else is not, and the console is serial only.
 * - Without those fields (QEMU's -kernel loader gives none, nor does GRUB
 *   on UEFI when it found no video mode), the BIOS data area: a BIOS that
 *   set up a colour text mode leaves its mode number (2 or 3, 80 columns)
 *   and the CRT controller's port 0x3d4 there. UEFI firmware does not
 *   maintain that area (OVMF leaves mode 0, and port 0 or 0x200), and the
 *   chance that what it left there looks like a text mode is what remains
 *   of the risk.
 */
#include "display.h"

/* What arch/x86/vga.c can show: an even number of columns, twice in text memory. */
#define COLS_MIN	40
#define COLS_MAX	132
#define ROWS_MIN	25
#define ROWS_MAX	60
#define BDA_TEXT_COLS	80		/* what modes 2 and 3 have */

static u16 bda_u16(const u8 *bda, unsigned off)
{
	return (u16)(bda[off] | bda[off + 1] << 8);
}

static void from_mbi(const struct mb_info *mbi, struct display *d)
{
	d->source = DISPLAY_FROM_MBI;
	d->fb_type = mbi->framebuffer_type;
	d->fb_addr = mbi->framebuffer_addr;
	d->fb_width = mbi->framebuffer_width;
	d->fb_height = mbi->framebuffer_height;
	d->fb_pitch = mbi->framebuffer_pitch;
	if (d->fb_type != MB_FB_EGA_TEXT || d->fb_addr != VGA_TEXT_ADDR ||
	    d->fb_width < COLS_MIN || d->fb_width > COLS_MAX || (d->fb_width & 1) ||
	    d->fb_height < ROWS_MIN || d->fb_height > ROWS_MAX || d->fb_pitch != 2 * d->fb_width)
		return;
	d->kind = DISPLAY_VGA_TEXT;
	d->cols = d->fb_width;
	d->rows = d->fb_height;
}

static void from_bda(const u8 *bda, struct display *d)
{
	unsigned rows = bda[BDA_ROWS_M1] + 1u;

	d->source = DISPLAY_FROM_BDA;
	d->bda_mode = bda[BDA_VIDEO_MODE];
	d->bda_crtc = bda_u16(bda, BDA_CRTC_PORT);
	if ((d->bda_mode != 2 && d->bda_mode != 3) || d->bda_crtc != VGA_CRTC_COLOR ||
	    bda_u16(bda, BDA_COLUMNS) != BDA_TEXT_COLS)
		return;
	d->kind = DISPLAY_VGA_TEXT;
	d->cols = BDA_TEXT_COLS;
	/* A CGA BIOS leaves the row count 0: its text modes have 25. */
	d->rows = rows >= ROWS_MIN && rows <= ROWS_MAX ? rows : ROWS_MIN;
}

void display_choose(const struct mb_info *mbi, const u8 *bda, struct display *d)
{
	*d = (struct display){ .kind = DISPLAY_NONE };
	if (mbi && (mbi->flags & MB_INFO_FRAMEBUFFER))
		from_mbi(mbi, d);
	else
		from_bda(bda, d);
}
