/* The hypervisor's own address space. */
#ifndef UMBRA_MM_HVMAP_H
#define UMBRA_MM_HVMAP_H

#include "../lib/types.h"

/*
 * Map RAM one-to-one from 0 to ram_end (at most WINDOW_BASE) with large
 * pages, make the mapping window's table, link the Switcher's page table
 * at the top, and turn paging on (with CR0.WP, so
 * that read-only means read-only to rings 0-2 as well). Returns false if no
 * frame could be had for the tables.
 */
bool hvmap_init(paddr_t ram_end, mfn_t switcher_pt);
u32 hvmap_cr3(void);

/*
 * Map one page of device registers at its physical address, uncached.
 * False if pa is RAM already mapped, lies at or above the window, or no
 * frame could be had for a table.
 */
bool hvmap_mmio(paddr_t pa);

#endif
