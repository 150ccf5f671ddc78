#include <umbra/abi.h>
#include <umbra/hypercall.h>
#include "pt_format.h"

#define TABLE	(PTE_P | PTE_W | PTE_U | PTE_A)

const struct pt_format pt_formats[2] = {
	[0] = {
	.name = "2-level", .paging = UMBRA_PAGING_2LEVEL, .levels = 2, .entry_size = 4,
	.level = {
		{ 22, 1024, TABLE, UMBRA_HC_SET_PGD },
		{ 12, 1024, 0, UMBRA_HC_SET_PTE },
	},
	},
/* A PDPT entry takes only P: W, U and A are reserved there. */
	[1] = {
	.name = "PAE", .paging = UMBRA_PAGING_PAE, .levels = 3, .entry_size = 8,
	.level = {
		{ 30, 4, PTE_P, UMBRA_HC_SET_PGD },
		{ 21, 512, TABLE, UMBRA_HC_SET_PMD },
		{ 12, 512, 0, UMBRA_HC_SET_PTE },
	},
	},
};
