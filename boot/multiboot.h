/* The Multiboot (v1) information structure, as far as umbra reads it. */
#ifndef UMBRA_BOOT_MULTIBOOT_H
#define UMBRA_BOOT_MULTIBOOT_H

#include "../lib/types.h"

#define MB_BOOTLOADER_MAGIC	0x2badb002

#define MB_INFO_MEMORY		(1u << 0)
#define MB_INFO_CMDLINE		(1u << 2)
#define MB_INFO_MODS		(1u << 3)
#define MB_INFO_MEM_MAP		(1u << 6)
#define MB_INFO_FRAMEBUFFER	(1u << 12)	/* the framebuffer_* fields are valid */

/* framebuffer_type */
#define MB_FB_INDEXED		0
#define MB_FB_RGB		1
#define MB_FB_EGA_TEXT		2	/* width and height in characters, pitch in bytes */

struct mb_info {
	u32 flags;
	u32 mem_lower, mem_upper;
	u32 boot_device;
	u32 cmdline;
	u32 mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr;
	u32 drives_length, drives_addr;
	u32 config_table;
	u32 boot_loader_name;
	u32 apm_table;
	u32 vbe_control_info, vbe_mode_info;
	u16 vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
	u64 framebuffer_addr;
	u32 framebuffer_pitch;
	u32 framebuffer_width, framebuffer_height;
	u8 framebuffer_bpp;
	u8 framebuffer_type;
	u8 color_info[6];
} __attribute__((packed));

struct mb_module {
	u32 start, end;
	u32 cmdline;
	u32 reserved;
} __attribute__((packed));

#define MB_MEMORY_AVAILABLE	1
#define MB_MEMORY_ACPI		3	/* ACPI tables, reclaimable once read */
#define MB_MEMORY_NVS		4	/* ACPI non-volatile storage */

/* size does not count itself: the next entry is at +size+4. */
struct mb_mmap_entry {
	u32 size;
	u64 addr, len;
	u32 type;
} __attribute__((packed));

#endif
