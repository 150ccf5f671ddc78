/* Fixed-width integers and the address types that say which space a value lives in. */
#ifndef UMBRA_LIB_TYPES_H
#define UMBRA_LIB_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

typedef u64 paddr_t;	/* machine-physical address: PAE reaches past 4 GiB */
typedef u32 mfn_t;	/* machine frame number */
typedef u32 gpa_t;	/* guest-physical address */
typedef u32 pfn_t;	/* guest frame number */
typedef u32 gva_t;	/* guest-virtual address */

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1u << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
/* The mask takes x's type, so a 64-bit x keeps its upper half. */
#define ALIGN_UP(x, a)	(((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define MAX(a, b)	((a) > (b) ? (a) : (b))

#define KiB(x)		((x) * 1024u)
#define MiB(x)		((x) * 1024u * 1024u)

#endif
