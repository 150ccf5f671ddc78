/*
 * The choice of display: the Multiboot framebuffer fields when there are
 * any, else the BIOS data area's video mode; VGA text only when one of
 * them shows a colour text screen at 0xb8000.
 */
#include "check.h"
#include "hypervisor/display.h"

/* What GRUB gives on a BIOS machine: EGA text, 80x25 at 0xb8000. */
static struct mb_info grub_bios(void)
{
	return (struct mb_info){
		.flags = MB_INFO_MEMORY | MB_INFO_MODS | MB_INFO_MEM_MAP | MB_INFO_FRAMEBUFFER,
		.framebuffer_addr = 0xb8000, .framebuffer_pitch = 160,
		.framebuffer_width = 80, .framebuffer_height = 25,
		.framebuffer_bpp = 16, .framebuffer_type = MB_FB_EGA_TEXT,
	};
}

/* A BIOS data area after the video BIOS set up mode 3, 80x25 colour text. */
static void bda_text(u8 *bda)
{
	memset(bda, 0, BDA_SIZE);
	bda[BDA_VIDEO_MODE] = 3;
	bda[BDA_COLUMNS] = 80;
	bda[BDA_CRTC_PORT] = 0xd4;
	bda[BDA_CRTC_PORT + 1] = 0x03;
	bda[BDA_ROWS_M1] = 24;
}

static struct display choose(const struct mb_info *mbi, const u8 *bda)
{
	struct display d;

	memset(&d, 0xa5, sizeof(d));	/* nothing left over counts */
	display_choose(mbi, bda, &d);
	return d;
}

static void test_framebuffer_fields(void)
{
	u8 bda[BDA_SIZE];
	struct mb_info mbi = grub_bios();
	struct display d;

	memset(bda, 0, sizeof(bda));	/* the fields decide, not the BDA */
	d = choose(&mbi, bda);
	CHECK(d.kind == DISPLAY_VGA_TEXT && d.source == DISPLAY_FROM_MBI && d.cols == 80 && d.rows == 25,
	      "fields: EGA text 80x25 at 0xb8000 is the VGA text screen");

	mbi.framebuffer_width = 80, mbi.framebuffer_height = 50;
	d = choose(&mbi, bda);
	CHECK(d.kind == DISPLAY_VGA_TEXT && d.cols == 80 && d.rows == 50,
	      "fields: EGA text 80x50 keeps its size");

	/* GRUB on UEFI, with a video driver: the GOP framebuffer. */
	mbi = grub_bios();
	mbi.framebuffer_type = MB_FB_RGB;
	mbi.framebuffer_addr = 0x80000000;
	mbi.framebuffer_width = 800, mbi.framebuffer_height = 600, mbi.framebuffer_pitch = 3200;
	mbi.framebuffer_bpp = 32;
	bda_text(bda);		/* even if the BDA looks like text mode */
	d = choose(&mbi, bda);
	CHECK(d.kind == DISPLAY_NONE && d.source == DISPLAY_FROM_MBI && d.fb_type == MB_FB_RGB &&
	      d.fb_addr == 0x80000000 && d.fb_width == 800 && d.fb_height == 600,
	      "fields: an RGB framebuffer is no display, whatever the BDA says");

	mbi = grub_bios();
	mbi.framebuffer_type = MB_FB_INDEXED;
	CHECK(choose(&mbi, bda).kind == DISPLAY_NONE, "fields: an indexed-colour framebuffer is no display");

	mbi = grub_bios();
	mbi.framebuffer_addr = 0xb0000;
	CHECK(choose(&mbi, bda).kind == DISPLAY_NONE, "fields: EGA text at 0xb0000 (monochrome) is not used");
	mbi.framebuffer_addr = 0x1000b8000ull;
	CHECK(choose(&mbi, bda).kind == DISPLAY_NONE, "fields: the address's upper half counts");

	mbi = grub_bios();
	mbi.framebuffer_pitch = 256;
	CHECK(choose(&mbi, bda).kind == DISPLAY_NONE, "fields: a pitch other than two bytes a column");

	mbi = grub_bios();
	mbi.framebuffer_width = 81, mbi.framebuffer_pitch = 162;
	CHECK(choose(&mbi, bda).kind == DISPLAY_NONE, "fields: an odd column count");
	mbi.framebuffer_width = 134, mbi.framebuffer_pitch = 268;
	CHECK(choose(&mbi, bda).kind == DISPLAY_NONE, "fields: more than 132 columns");
	mbi.framebuffer_width = 132, mbi.framebuffer_pitch = 264, mbi.framebuffer_height = 61;
	CHECK(choose(&mbi, bda).kind == DISPLAY_NONE, "fields: more than 60 rows");
	mbi.framebuffer_height = 60;
	CHECK(choose(&mbi, bda).kind == DISPLAY_VGA_TEXT, "fields: 132x60 is used");
	mbi.framebuffer_width = 0, mbi.framebuffer_pitch = 0, mbi.framebuffer_height = 0;
	CHECK(choose(&mbi, bda).kind == DISPLAY_NONE, "fields: a 0x0 screen");
}

static void test_bios_data_area(void)
{
	u8 bda[BDA_SIZE];
	struct mb_info mbi = grub_bios();
	struct display d;

	/* QEMU's -kernel loader: no framebuffer fields; SeaBIOS set mode 3. */
	mbi.flags &= ~MB_INFO_FRAMEBUFFER;
	mbi.framebuffer_type = MB_FB_RGB;	/* not valid without the flag: ignored */
	bda_text(bda);
	d = choose(&mbi, bda);
	CHECK(d.kind == DISPLAY_VGA_TEXT && d.source == DISPLAY_FROM_BDA && d.cols == 80 && d.rows == 25,
	      "BDA: no fields, text mode 3 at 0x3d4: VGA text 80x25");
	CHECK(choose(NULL, bda).kind == DISPLAY_VGA_TEXT, "BDA: no Multiboot information counts as no fields");

	bda[BDA_ROWS_M1] = 49;
	CHECK(choose(&mbi, bda).rows == 50, "BDA: the row count is the BIOS's");
	bda[BDA_ROWS_M1] = 0;
	CHECK(choose(&mbi, bda).rows == 25, "BDA: a CGA BIOS's row count 0 means 25");
	bda[BDA_ROWS_M1] = 200;
	CHECK(choose(&mbi, bda).rows == 25, "BDA: an impossible row count means 25");

	bda_text(bda);
	bda[BDA_VIDEO_MODE] = 2;
	CHECK(choose(&mbi, bda).kind == DISPLAY_VGA_TEXT, "BDA: mode 2 (grey text) is text");

	/* OVMF leaves the area zero, or with 0x200 for the port without a VGA. */
	memset(bda, 0, sizeof(bda));
	d = choose(&mbi, bda);
	CHECK(d.kind == DISPLAY_NONE && d.source == DISPLAY_FROM_BDA && d.bda_mode == 0 && d.bda_crtc == 0,
	      "BDA: all zero (UEFI) is no display");
	bda[BDA_CRTC_PORT + 1] = 0x02;
	d = choose(&mbi, bda);
	CHECK(d.kind == DISPLAY_NONE && d.bda_crtc == 0x200, "BDA: OVMF's leftover port 0x200 is no display");

	bda_text(bda);
	bda[BDA_VIDEO_MODE] = 0x12;
	CHECK(choose(&mbi, bda).kind == DISPLAY_NONE, "BDA: a graphics mode is no display");
	bda[BDA_VIDEO_MODE] = 7;
	bda[BDA_CRTC_PORT] = 0xb4;
	CHECK(choose(&mbi, bda).kind == DISPLAY_NONE, "BDA: monochrome text (mode 7, 0x3b4) is not used");
	bda_text(bda);
	bda[BDA_CRTC_PORT] = 0xb4;
	CHECK(choose(&mbi, bda).kind == DISPLAY_NONE, "BDA: mode 3 with the monochrome CRTC is not believed");
	bda_text(bda);
	bda[BDA_COLUMNS] = 40;
	CHECK(choose(&mbi, bda).kind == DISPLAY_NONE, "BDA: mode 3 with 40 columns is not believed");
	memset(bda, 0xff, sizeof(bda));
	CHECK(choose(&mbi, bda).kind == DISPLAY_NONE, "BDA: all ones is no display");
}

int main(void)
{
	test_framebuffer_fields();
	test_bios_data_area();
	return check_status();
}
