/*
 * Walking and building page tables of either format.
 *
 * Tables hold machine addresses and are reached through phys.h, so the
 * same walker serves the hypervisor's own tables, every shadow table, and
 * host-side tests over simulated RAM.
 */
#ifndef UMBRA_MM_PT_H
#define UMBRA_MM_PT_H

#include "../arch/x86/paging.h"
#include "frame.h"

/*
 * Table at `level` holding the entry for `va`, starting from the top table
 * `top`. Missing tables on the way are created (owner and guest as given)
 * when `create` is set, linked with the level's link flags (the top level
 * of PAE takes only PTE_P). Returns NULL if a table is missing and not created, if
 * an entry on the way is a large page, or if no frame is left.
 */
void *pt_table_at(const struct pt_format *f, void *top, unsigned level, u32 va,
		  bool create, enum frame_owner owner, u8 guest);

/* The flags an entry linking a table at level+1 gets at `level`. */
static inline pte_t pt_link_flags(const struct pt_format *f, unsigned level)
{
	return f->level[level].link;
}

/*
 * Drop a reference to `table` (a table at `level`); when it was the last,
 * do the same for every table it links, then free it. Leaf entries and
 * large pages point to frames the tables do not own and are left alone.
 * A table linked from several places (a shared kernel table, the
 * Switcher's) holds a reference for each link and so outlives them all
 * but the last.
 */
void pt_put_tree(const struct pt_format *f, mfn_t table, unsigned level);

#endif
