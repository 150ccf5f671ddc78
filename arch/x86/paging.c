/* The two paging formats, described once (Intel SDM vol. 3, 4.3 and 4.4). */
#include "paging.h"
#include "../../guest-abi/include/umbra/abi.h"

#define LEAF_FLAGS	(PTE_P | PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_G | PTE_AVAIL)

const struct pt_format pt_2level = {
	.name = "2-level",
	.levels = 2,
	.entry_bytes = 4,
	.addr_mask = 0xfffff000ull,
	.switcher_base = UMBRA_SWITCHER_BASE_2LEVEL,
	.switcher_level = 0,
	.large_page = MiB(4),
	.level = {
		{ .shift = 22, .entries = 1024, .allowed = PTE_TABLE_FLAGS | PTE_PWT | PTE_PCD },
		{ .shift = 12, .entries = 1024, .allowed = LEAF_FLAGS },
	},
};

/*
 * PAE page-directory-pointer entries are loaded into the CPU when CR3 is
 * written and allow only P, PWT and PCD: W, U and A are reserved there.
 */
const struct pt_format pt_pae = {
	.name = "PAE",
	.levels = 3,
	.entry_bytes = 8,
	.addr_mask = 0x000ffffffffff000ull,
	.switcher_base = UMBRA_SWITCHER_BASE_PAE,
	.switcher_level = 1,
	.large_page = MiB(2),
	.level = {
		{ .shift = 30, .entries = 4, .allowed = PTE_P | PTE_PWT | PTE_PCD | PTE_AVAIL },
		{ .shift = 21, .entries = 512, .allowed = PTE_TABLE_FLAGS | PTE_PWT | PTE_PCD },
		{ .shift = 12, .entries = 512, .allowed = LEAF_FLAGS },
	},
};
