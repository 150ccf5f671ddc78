/*
 * The umbra guest ABI: what a paravirtualized guest may rely on.
 *
 * This header and its neighbours are the whole contract between umbra and
 * its guests. They include nothing from the hypervisor, only <stdint.h>, so
 * a guest written outside this tree builds against them alone. Changes are
 * additive; UMBRA_ABI_VERSION changes when they are not.
 */
#ifndef UMBRA_ABI_H
#define UMBRA_ABI_H

#include <stdint.h>

#define UMBRA_ABI_VERSION	1

/*
 * Segment selectors. The guest kernel runs in ring 1, its processes in
 * ring 3. Every guest segment is flat from 0 but stops short of the
 * Switcher region (UMBRA_SWITCHER_BASE), which the guest can never reach.
 */
#define UMBRA_KERNEL_CS		0x19	/* GDT entry 3, RPL 1 */
#define UMBRA_KERNEL_DS		0x21	/* GDT entry 4, RPL 1 */
#define UMBRA_USER_CS		0x2b	/* GDT entry 5, RPL 3 */
#define UMBRA_USER_DS		0x33	/* GDT entry 6, RPL 3 */

/*
 * The top of the 4 GiB space belongs to the hypervisor's Switcher: 4 MiB
 * with 2-level paging, 2 MiB with PAE. A guest never maps it.
 */
#define UMBRA_SWITCHER_BASE_2LEVEL	0xffc00000u
#define UMBRA_SWITCHER_BASE_PAE		0xffe00000u

/* The paging formats a guest can declare in its ELF note. */
#define UMBRA_PAGING_2LEVEL	2
#define UMBRA_PAGING_PAE	3

#endif
