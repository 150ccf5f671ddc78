/*
 * Segment descriptors, gates and the TSS (Intel SDM vol. 3, 3.4.5, 6.11, 7.2).
 *
 * The hypervisor's GDT and the GDT a guest runs under share one layout, so
 * a selector means the same in both worlds; only the guest's copy has TLS
 * entries filled in.
 */
#ifndef UMBRA_ARCH_DESC_H
#define UMBRA_ARCH_DESC_H

#include "../../lib/types.h"
#include "../../guest-abi/include/umbra/abi.h"

enum gdt_entry {
	GDT_NULL,
	GDT_HV_CODE,
	GDT_HV_DATA,
	GDT_GUEST_CODE,		/* ring 1 */
	GDT_GUEST_DATA,
	GDT_USER_CODE,		/* ring 3 */
	GDT_USER_DATA,
	GDT_TSS,
	GDT_TLS0,
	GDT_TLS_COUNT = 3,
	GDT_ENTRIES = GDT_TLS0 + GDT_TLS_COUNT,
};

#define SEL(entry, rpl)	(((entry) << 3) | (rpl))
#define HV_CS		SEL(GDT_HV_CODE, 0)
#define HV_DS		SEL(GDT_HV_DATA, 0)
#define TSS_SEL		SEL(GDT_TSS, 0)

_Static_assert(SEL(GDT_GUEST_CODE, 1) == UMBRA_KERNEL_CS, "guest ABI selector");
_Static_assert(SEL(GDT_GUEST_DATA, 1) == UMBRA_KERNEL_DS, "guest ABI selector");
_Static_assert(SEL(GDT_USER_CODE, 3) == UMBRA_USER_CS, "guest ABI selector");
_Static_assert(SEL(GDT_USER_DATA, 3) == UMBRA_USER_DS, "guest ABI selector");

/* Access byte of a segment descriptor. */
#define SEG_ACCESSED	0x01
#define SEG_RW		0x02	/* readable code / writable data */
#define SEG_CONFORMING	0x04	/* code only */
#define SEG_CODE	0x08
#define SEG_S		0x10	/* code or data, not system */
#define SEG_DPL(n)	((n) << 5)
#define SEG_PRESENT	0x80
/* Flags nibble. */
#define SEG_DB		0x4	/* 32-bit */
#define SEG_G		0x8	/* limit in pages */

/* System descriptor and gate types. */
#define SYS_TSS_AVAIL	0x9
#define SYS_TSS_BUSY	0xb
#define GATE_INTR	0xe
#define GATE_TRAP	0xf

typedef u64 seg_desc_t;
typedef u64 gate_desc_t;

static inline seg_desc_t seg_desc(u32 base, u32 limit, u8 access, u8 flags)
{
	if (limit > 0xfffff) {
		limit >>= 12;
		flags |= SEG_G;
	}
	return (limit & 0xffffull) | ((u64)(base & 0xffffff) << 16) |
	       ((u64)access << 40) | ((u64)((limit >> 16) & 0xf) << 48) |
	       ((u64)(flags & 0xf) << 52) | ((u64)(base >> 24) << 56);
}

static inline gate_desc_t gate_desc(u32 offset, u16 sel, u8 type, u8 dpl)
{
	return (offset & 0xffffull) | ((u64)sel << 16) |
	       ((u64)(type | SEG_DPL(dpl) | SEG_PRESENT) << 40) |
	       ((u64)(offset >> 16) << 48);
}

static inline u32 gate_offset(gate_desc_t g) { return (u32)(g & 0xffff) | (u32)((g >> 48) << 16); }
static inline u16 gate_selector(gate_desc_t g) { return (u16)(g >> 16); }
static inline u8 gate_type(gate_desc_t g) { return (g >> 40) & 0x1f; }	/* with the S bit */
static inline u8 desc_dpl(u64 d) { return (d >> 45) & 3; }
static inline bool desc_present(u64 d) { return (d >> 47) & 1; }
static inline u8 seg_access(seg_desc_t d) { return (u8)(d >> 40); }
static inline u32 seg_base(seg_desc_t d)
{
	return (u32)((d >> 16) & 0xffffff) | (u32)((d >> 56) << 24);
}
/* The last byte the segment reaches, from its base, granularity applied. */
static inline u32 seg_limit(seg_desc_t d)
{
	u32 limit = (u32)(d & 0xffff) | (u32)(((d >> 48) & 0xf) << 16);

	return ((d >> 52) & SEG_G) ? (limit << 12) | 0xfff : limit;
}

/* The 32-bit task-state segment; umbra uses only the ring-0 stack fields. */
struct tss {
	u32 link;
	u32 esp0, ss0;
	u32 esp1, ss1;
	u32 esp2, ss2;
	u32 cr3, eip, eflags;
	u32 eax, ecx, edx, ebx, esp, ebp, esi, edi;
	u32 es, cs, ss, ds, fs, gs;
	u32 ldt;
	u16 trap, iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "TSS layout");

/* Operand of lgdt/lidt; the padding keeps base 4-byte aligned. */
struct desc_ptr {
	u16 pad;
	u16 limit;
	u32 base;
} __attribute__((packed, aligned(4)));

/* Vectors (Intel SDM vol. 3, table 6-1). */
enum vector {
	VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5,
	VEC_UD = 6, VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11,
	VEC_SS = 12, VEC_GP = 13, VEC_PF = 14, VEC_MF = 16, VEC_AC = 17,
	VEC_MC = 18, VEC_XM = 19, VEC_VE = 20, VEC_CP = 21,
	VEC_IRQ0 = 32,		/* the PIC is remapped here */
	VEC_COUNT = 256,
};

/* The exceptions for which the CPU pushes an error code. */
static inline bool vector_has_error_code(unsigned v)
{
	return v == VEC_DF || (v >= VEC_TS && v <= VEC_PF) || v == VEC_AC ||
	       v == VEC_CP || v == 29 || v == 30;
}

const char *vector_name(unsigned v);

void desc_init(void);
void desc_fill_gdt(seg_desc_t *gdt, const struct tss *tss);
extern seg_desc_t host_gdt[GDT_ENTRIES];

static inline void lgdt(const struct desc_ptr *p) { __asm__ volatile("lgdt %0" :: "m"(p->limit)); }
static inline void lidt(const struct desc_ptr *p) { __asm__ volatile("lidt %0" :: "m"(p->limit)); }
static inline void ltr(u16 sel) { __asm__ volatile("ltr %0" :: "r"(sel)); }

#endif
