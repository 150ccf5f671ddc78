/*
 * Reaching a machine frame from C.
 *
 * The hypervisor maps RAM one-to-one, so a frame's address is its pointer.
 * Host-side tests build the same code against a simulated RAM buffer by
 * defining UMBRA_HOSTED and providing hosted_ram.
 */
#ifndef UMBRA_MM_PHYS_H
#define UMBRA_MM_PHYS_H

#include "../lib/types.h"

#ifdef UMBRA_HOSTED
extern u8 *hosted_ram;
static inline void *phys_to_virt(paddr_t pa) { return hosted_ram + pa; }
static inline paddr_t virt_to_phys(const void *p) { return (paddr_t)((const u8 *)p - hosted_ram); }
#else
static inline void *phys_to_virt(paddr_t pa) { return (void *)(uintptr_t)pa; }
static inline paddr_t virt_to_phys(const void *p) { return (paddr_t)(uintptr_t)p; }
#endif

static inline void *mfn_to_virt(mfn_t mfn)
{
	return phys_to_virt((paddr_t)mfn << PAGE_SHIFT);
}

static inline mfn_t virt_to_mfn(const void *p)
{
	return (mfn_t)(virt_to_phys(p) >> PAGE_SHIFT);
}

#endif
