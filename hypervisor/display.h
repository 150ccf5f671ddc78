/*
 * Which screen the console mirrors to, decided from what the bootloader
 * says about the display: a VGA text screen, or none (serial only).
 */
#ifndef UMBRA_HV_DISPLAY_H
#define UMBRA_HV_DISPLAY_H

#include "../boot/multiboot.h"
#include "../lib/types.h"

#define VGA_TEXT_ADDR	0xb8000u
#define VGA_CRTC_COLOR	0x3d4u		/* the CRT controller of a colour text mode */

/* The BIOS data area, at physical 0x400: the bytes the choice reads. */
#define BDA_BASE	0x400u
#define BDA_SIZE	0x100u
#define BDA_VIDEO_MODE	0x49		/* u8: the current video mode */
#define BDA_COLUMNS	0x4a		/* u16: text columns */
#define BDA_CRTC_PORT	0x63		/* u16: the CRT controller's index port */
#define BDA_ROWS_M1	0x84		/* u8: text rows minus one (EGA and later) */

enum display_kind { DISPLAY_NONE, DISPLAY_VGA_TEXT };

/* Where the decision came from, for the boot's line about it. */
enum display_source {
	DISPLAY_FROM_MBI,	/* the Multiboot framebuffer fields */
	DISPLAY_FROM_BDA,	/* no such fields: the BIOS data area's video mode */
};

struct display {
	enum display_kind kind;
	enum display_source source;
	u32 cols, rows;		/* for VGA text */
	/* What the bootloader or the BIOS named, to say why it is not used. */
	u8 fb_type;
	u64 fb_addr;
	u32 fb_width, fb_height, fb_pitch;
	u8 bda_mode;
	u16 bda_crtc;
};

/*
 * mbi is NULL when the magic was not Multiboot's, which counts as no
 * framebuffer fields; bda holds the BDA_SIZE bytes at BDA_BASE, read only
 * when there are none.
 */
void display_choose(const struct mb_info *mbi, const u8 *bda, struct display *d);

#endif
