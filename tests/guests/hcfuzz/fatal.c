/*
 * mode=fatal: after the random ops, one call that the ABI says kills the
 * guest. The fuzzer first prints the reason it expects, in the words the
 * hypervisor uses ("hcfuzz: expect kill: <call>: <what>"), then makes the
 * call; the boot test compares that line with the hypervisor's "killed:"
 * line. If the guest is still running afterwards, that is a FAIL.
 */
#include "fz.h"
#include <stdarg.h>

#if UMBRA_PAE
#define FMT_NAME	"PAE"
#define PGD_MAX		3
#define RESERVED_HI	(1u << 20)	/* bit 52 of the entry */
#else
#define FMT_NAME	"2-level"
#define PGD_MAX		1022
#endif

extern u32 fz_ss_base;

static void expect(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void expect(const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	umbra_printf("hcfuzz: expect kill: %s\n", msg);
}

static u64 desc(u32 base, u32 limit, u32 access, u32 flags)
{
	return (limit & 0xffffull) | ((u64)(base & 0xffffff) << 16) | ((u64)access << 40) |
	       ((u64)((limit >> 16) & 0xf) << 48) | ((u64)(flags & 0xf) << 52) |
	       ((u64)(base >> 24) << 56);
}

/* A stack segment in TLS slot 0 holding ss; then SET_TLS(0), directly or batched. */
static void tls_ss(int batched)
{
	u64 d = desc(0, (SWBASE - 1) >> 12, 0x80 | 0x10 | 0x20 | 0x3, 0xc);
	struct fz_in in;

	hc_plain(UMBRA_HC_SET_TLS, 0, (u32)d, (u32)(d >> 32), 0);
	M.tls[0] = d | (1ull << 40);
	random_gprs(&in);
	random_segs(&in, 1);
	in.eflags = 0x202;
	pick_stack(&in, 0);
	in.ss = 0x41;
	fz_ss_base = 0;
	expect("set_tls: slot 0 holds the code or stack segment in use");
	if (batched) {
		struct umbra_multicall *mc = (struct umbra_multicall *)(uintptr_t)MCLIST;

		mc[0].op = UMBRA_HC_SET_TLS;
		mc[0].args[0] = 0;
		mc[0].args[1] = mc[0].args[2] = 0;	/* empty it */
		in.eax = UMBRA_HC_MULTICALL, in.ebx = MCLIST, in.ecx = 1;
	} else {
		in.eax = UMBRA_HC_SET_TLS, in.ebx = 0, in.ecx = 0, in.edx = 0;
	}
	run_op1(&in, sn_hcall, sn_hcall_at, sn_hcall_after);
}

void fatal_run(void)
{
	u32 mem = M.mem, top = cur_top(), r = rn(40), v;
	u64 d;

	switch (r) {
	case 0:
		v = chance(50) ? 0 : chance(50) ? UMBRA_HC_COUNT : boundary32() | 0x100;
		expect("unknown hypercall %u", v);
		hc_plain(v, 0, 0, 0, 0);
		break;
	case 1:
		v = chance(50) ? 4097 : 0x80000000u | rnd();
		expect("console_write: length %u exceeds 4096", v);
		hc_plain(UMBRA_HC_CONSOLE_WRITE, 0x100000, v, 0, 0);
		break;
	case 2:
		v = 1 + rn(100);
		expect("console_write: buffer 0x%x+%u is not mapped at 0x%x", mem - 1, v + 1, mem);
		hc_plain(UMBRA_HC_CONSOLE_WRITE, mem - 1, v + 1, 0, 0);
		break;
	case 3:
		v = chance(50) ? 256 : boundary32() | 0x100;
		expect("set_trap: vector %u out of range", v);
		hc_plain(UMBRA_HC_SET_TRAP, v, 0, 0, 0);
		break;
	case 4: {
		static const u32 types[] = { 0x5, 0x6, 0x7, 0xc, 0x0, 0x9 };
		u32 t = PICK(types);

		d = umbra_gate(fz_stub(6), t, 1);
		expect("set_trap: vector 6: type 0x%x is not a 32-bit interrupt or trap gate", t);
		hc_plain(UMBRA_HC_SET_TRAP, 6, (u32)d, (u32)(d >> 32), 0);
		break;
	}
	case 5: {
		static const u32 sels[] = { 0x08, 0x10, 0x21, 0x2b, 0x41 };
		u32 s = PICK(sels);

		d = (umbra_gate(fz_stub(6), 0xe, 1) & ~(0xffffull << 16)) | ((u64)s << 16);
		expect("set_trap: vector 6: selector 0x%x is not the guest kernel's code", s);
		hc_plain(UMBRA_HC_SET_TRAP, 6, (u32)d, (u32)(d >> 32), 0);
		break;
	}
	case 6:
		v = chance(50) ? 0 : 2;
		d = umbra_gate(fz_stub(6), 0xf, v);
		expect("set_trap: vector 6: DPL %u (must be 1 or 3)", v);
		hc_plain(UMBRA_HC_SET_TRAP, 6, (u32)d, (u32)(d >> 32), 0);
		break;
	case 7:
		v = chance(50) ? 0x10 : 0x23;
		expect("set_stack: segment 0x%x is not the ring-1 data segment 0x21", v);
		hc_plain(UMBRA_HC_SET_STACK, v, kstack_top(0), 1, 0);
		break;
	case 8:
		v = chance(50) ? 0 : 3;
		expect("set_stack: %u pages (must be 1 or 2)", v);
		hc_plain(UMBRA_HC_SET_STACK, UMBRA_KERNEL_DS, kstack_top(0), v, 0);
		break;
	case 9:
		v = chance(50) ? 0x1000 : SWBASE + 4;
		expect("set_stack: stack top 0x%x outside the guest's address space", v);
		hc_plain(UMBRA_HC_SET_STACK, UMBRA_KERNEL_DS, v, 2, 0);
		break;
	case 10:
		expect("kernel stack page 0x%x is not mapped writable by page table 0x%x", 0x90000000u, top);
		hc_plain(UMBRA_HC_SET_STACK, UMBRA_KERNEL_DS, 0x90001000u, 1, 0);
		break;
	case 11:
		v = chance(50) ? 3 : boundary32() | 4;
		expect("set_tls: slot %u out of range (0-2)", v);
		hc_plain(UMBRA_HC_SET_TLS, v, 0, 0, 0);
		break;
	case 12: {
		static const char *const why[] = {
			"DPL must be 1 or 3", "system descriptors and gates are not allowed",
			"conforming code segments are not allowed", "expand-down segments are not allowed",
			"segment reaches into the Switcher region",
			"16-bit writable data segments are not allowed",
		};
		u32 k = rn(6);

		d = k == 0 ? desc(0x100000, 0xfff, 0x80 | 0x10 | 0x2 | (rn(2) ? 0x40 : 0), 0x4)
		  : k == 1 ? desc(0x100000, 0xfff, 0x80 | 0x60 | 0x9, 0)
		  : k == 2 ? desc(0x100000, 0xfff, 0x80 | 0x60 | 0x1e, 0x4)
		  : k == 3 ? desc(0x100000, 0xfff, 0x80 | 0x60 | 0x16, 0x4)
		  : k == 4 ? desc(SWBASE - 0x1000, 0x1000, 0x80 | 0x60 | 0x12, 0x4)
			   : desc(0x100000, 0xfff, 0x80 | 0x60 | 0x12, 0);
		expect("set_tls: slot 1: descriptor 0x%llx: %s", d, why[k]);
		hc_plain(UMBRA_HC_SET_TLS, 1, (u32)d, (u32)(d >> 32), 0);
		break;
	}
	case 13:
	case 14:
		tls_ss(r == 14);
		break;
	case 15:
		timer_quiesce();
		expect("halt: no timer is set, nothing would ever wake the guest");
		hc_plain(UMBRA_HC_HALT, 0, 0, 0, 0);
		break;
	case 16:
		v = chance(50) ? top + 4 : mem;
		expect("new_pgtable: 0x%x is not a %s top-level table inside guest memory", v, FMT_NAME);
		hc_plain(UMBRA_HC_NEW_PGTABLE, v, 0, 0, 0);
		break;
	case 17:
		v = chance(50) ? SWBASE : 0xffffffffu;
		expect("set_pte: 0x%x lies in the Switcher region", v);
		hc_plain(UMBRA_HC_SET_PTE, top, v, 0, 0);
		break;
	case 18:
		expect("set_pte: top-level table 0x%x is outside guest memory", mem);
		hc_plain(UMBRA_HC_SET_PTE, mem, WIN, 0, 0);
		break;
	case 19:
		expect("set_pte: entry 0x%llx for 0x%x: frame 0x%x beyond limit 0x%x",
		       (u64)(mem | 3), WIN, mem >> 12, mem >> 12);
		hc_plain(UMBRA_HC_SET_PTE, top, WIN, mem | 3, 0);
		break;
	case 20:
#if UMBRA_PAE
		expect("set_pte: entry 0x%llx for 0x%x sets reserved or non-table bits 0x%llx",
		       (u64)RESERVED_HI << 32 | (DFR | 3), WIN, (u64)RESERVED_HI << 32);
		hc_plain(UMBRA_HC_SET_PTE, top, WIN, DFR | 3, RESERVED_HI);
#else
		expect("set_pte: entry 0x%llx for 0x%x sets reserved or non-table bits 0x%llx",
		       (u64)(DFR | 0x83), WIN, (u64)0x80);
		hc_plain(UMBRA_HC_SET_PTE, top, WIN, DFR | 0x83, 0);
#endif
		break;
	case 21:
		v = PGD_MAX + 1 + (chance(50) ? 0 : rn(5000));
		expect("set_pgd: index %u out of range (0-%u)", v, PGD_MAX);
		hc_plain(UMBRA_HC_SET_PGD, top, v, 0, 0);
		break;
	case 22:
#if UMBRA_PAE
		expect("set_pmd: entry 0x%llx for 0x%x is a large page; umbra supports 4 KiB pages only",
		       (u64)(0x200000 | 0x83), WIN2);
		hc_plain(UMBRA_HC_SET_PMD, top, WIN2, 0x200000 | 0x83, 0);
#else
		expect("set_pgd: entry 0x%llx for 0x%x is a large page; umbra supports 4 KiB pages only",
		       (u64)(0x400000 | 0x83), WIN2);
		hc_plain(UMBRA_HC_SET_PGD, top, WIN2 >> 22, 0x400000 | 0x83, 0);
#endif
		break;
	case 23: {
		/* The kernel stack's page unmapped behind the hypervisor's back, then flushed. */
		umbra_pte_t *l = leaf_slot(top, M.esp1 - 4);

		expect("kernel stack page 0x%x is not mapped writable by page table 0x%x",
		       (M.esp1 - 4) & ~0xfffu, top);
		*l = 0;
		hc_plain(UMBRA_HC_FLUSH_TLB, UMBRA_FLUSH_USER, 0, 0, 0);
		break;
	}
	case 24:
		v = 4097 + (chance(50) ? 0 : rn(100000));
		expect("multicall: %u calls exceed the limit of 4096", v);
		hc_plain(UMBRA_HC_MULTICALL, MCLIST, v, 0, 0);
		break;
	case 25:
		expect("multicall: list 0x%x+%u is not mapped at 0x%x", mem - 23, 1, mem);
		hc_plain(UMBRA_HC_MULTICALL, mem - 23, 1, 0, 0);
		break;
	case 26: {
		struct umbra_multicall *mc = (struct umbra_multicall *)(uintptr_t)MCLIST;
		u32 bad = chance(50) ? UMBRA_HC_MULTICALL : chance(50) ? 0 : 999, at = rn(4);

		for (u32 i = 0; i < at; i++)
			mc[i].op = UMBRA_HC_YIELD;
		mc[at].op = bad;
		expect("multicall: entry %u: call %u cannot be batched", at, bad);
		hc_plain(UMBRA_HC_MULTICALL, MCLIST, at + 1, 0, 0);
		break;
	}
	case 27:
		v = M.shared + 8;
		expect("set_shared: 0x%x is not a page-aligned address of guest memory", v);
		hc_plain(UMBRA_HC_SET_SHARED, v, 0, 0, 0);
		break;
	case 28:
		S->kernel_base = 0x80000000u;
		expect("set_shared: the kernel address cannot change once page tables are in use");
		hc_plain(UMBRA_HC_SET_SHARED, M.shared, 0, 0, 0);
		break;
	case 29:
		v = WIN + 1 + rn(0xfff);
		expect("update_range: 0x%x + %u pages is not a page-aligned range of 1 to %u pages", v, 1,
		       UMBRA_RANGE_MAX);
		hc_plain(UMBRA_HC_UPDATE_RANGE, top, v, 1, 0);
		break;
	case 30:
		v = chance(50) ? 0 : UMBRA_RANGE_MAX + 1 + (chance(50) ? 0 : rnd() % 0x7fff0000u);
		expect("update_range: 0x%x + %u pages is not a page-aligned range of 1 to %u pages", WIN, v,
		       UMBRA_RANGE_MAX);
		hc_plain(UMBRA_HC_UPDATE_RANGE, top, WIN, v, 0);
		break;
	case 31: {
		u32 k = rn(4), va = chance(50) ? SWBASE - 0x1000 * k : 0xfffff000u;

		v = k + 1 + rn(8);
		expect("update_range: 0x%x + %u pages reaches into the Switcher region", va, v);
		hc_plain(UMBRA_HC_UPDATE_RANGE, top, va, v, 0);
		break;
	}
	case 32:
		v = chance(50) ? top + (UMBRA_PAE ? 8 : 0x800) : mem;
		expect("update_range: 0x%x is not a %s top-level table inside guest memory", v, FMT_NAME);
		hc_plain(UMBRA_HC_UPDATE_RANGE, v, WIN, 1, 0);
		break;
	case 33: {
		/*
		 * A bad entry with P and A in the kernel window, whose shadow leaf
		 * table exists (its first page read just before); next to it one
		 * with P but not A, which UPDATE_RANGE must not read.
		 */
		u32 k = 2 + rn(KPAGES - 3), va = KBASE + 0x1000 * k;
		umbra_pte_t bad;

		hc_plain(UMBRA_HC_SET_PTE, top, KBASE, DFR | UMBRA_PTE_P | UMBRA_PTE_A, 0);
		(void)*(volatile u32 *)(uintptr_t)KBASE;
		*ent(M.kleaf, k - 1) = (umbra_pte_t)mem | UMBRA_PTE_P;
#if UMBRA_PAE
		if (chance(50)) {
			bad = (u64)RESERVED_HI << 32 | DFR | UMBRA_PTE_P | UMBRA_PTE_A;
			expect("update_range: entry 0x%llx for 0x%x sets reserved or non-table bits 0x%llx",
			       (u64)bad, va, (u64)RESERVED_HI << 32);
		} else
#else
		if (chance(50)) {
			bad = DFR | 0x80 | UMBRA_PTE_P | UMBRA_PTE_A;
			expect("update_range: entry 0x%llx for 0x%x sets reserved or non-table bits 0x%llx",
			       (u64)bad, va, (u64)0x80);
		} else
#endif
		{
			bad = (umbra_pte_t)mem | UMBRA_PTE_P | UMBRA_PTE_A;
			expect("update_range: entry 0x%llx for 0x%x: frame 0x%x beyond limit 0x%x",
			       (u64)bad, va, mem >> 12, mem >> 12);
		}
		*ent(M.kleaf, k) = bad;
		hc_plain(UMBRA_HC_UPDATE_RANGE, top, KBASE, k + 1 + rn(4), 0);
		break;
	}
	case 34: {
		/* The kernel stack's page unmapped in place, then announced as a range. */
		u32 page = (M.esp1 - 4) & ~0xfffu;
		umbra_pte_t *l = leaf_slot(top, page);

		expect("kernel stack page 0x%x is not mapped writable by page table 0x%x", page, top);
		*l = chance(50) ? 0 : *l & ~(umbra_pte_t)UMBRA_PTE_W;
		hc_plain(UMBRA_HC_UPDATE_RANGE, M.tops[rn(NTOPS)], page - 0x1000 * rn(3), 3 + rn(3), 0);
		break;
	}
	case 35: {
		u32 to = M.tops[rn(NTOPS)];

		switch (rn(3)) {
		case 0:
			v = chance(50) ? 0 : 3;
			expect("set_stack: %u pages (must be 1 or 2)", v);
			hc_plain(UMBRA_HC_SWITCH, to, kstack_top(0), v, 0);
			break;
		case 1:
			v = SWBASE + 4 + 4 * rn(1000);
			expect("set_stack: stack top 0x%x outside the guest's address space", v);
			hc_plain(UMBRA_HC_SWITCH, to, v, 1, 0);
			break;
		default:
			expect("kernel stack page 0x%x is not mapped writable by page table 0x%x",
			       0x90000000u, to);
			hc_plain(UMBRA_HC_SWITCH, to, 0x90001000u, 1, 0);
			break;
		}
		break;
	}
	case 36:
		v = chance(50) ? top + 4 : mem;
		expect("new_pgtable: 0x%x is not a %s top-level table inside guest memory", v, FMT_NAME);
		hc_plain(UMBRA_HC_SWITCH, v, chance(50) ? 0 : kstack_top(rn(2)), 1 + rn(2), 0);
		break;
	case 37:
		v = (chance(50) ? 1u << rn(9) : 1u << (12 + rn(20))) | (chance(50) ? 0xe00u : 0);
		expect("protect_range: bits 0x%x to set are not software bits (0x%x)", v, 0xe00u);
		hc_plain(UMBRA_HC_PROTECT_RANGE, top, WIN, 1, v);
		break;
	case 38: {
		/* The kernel stack's page write-protected with the rest of its run. */
		u32 first = (M.esp1 - M.stack_pages * 0x1000) & ~0xfffu, bottom = (M.esp1 - 4 * 0x1000) & ~0xfffu;

		expect("kernel stack page 0x%x is not mapped writable by page table 0x%x", first, top);
		hc_plain(UMBRA_HC_PROTECT_RANGE, M.tops[rn(NTOPS)], bottom, 8, rnd() & 0xe00u);
		break;
	}
	case 39:
		switch (rn(4)) {
		case 0:
			v = WIN + 1 + rn(0xfff);
			expect("protect_range: 0x%x + %u pages is not a page-aligned range of 1 to %u pages",
			       v, 1, UMBRA_RANGE_MAX);
			hc_plain(UMBRA_HC_PROTECT_RANGE, top, v, 1, 0);
			break;
		case 1:
			v = chance(50) ? 0 : UMBRA_RANGE_MAX + 1;
			expect("protect_range: 0x%x + %u pages is not a page-aligned range of 1 to %u pages",
			       WIN, v, UMBRA_RANGE_MAX);
			hc_plain(UMBRA_HC_PROTECT_RANGE, top, WIN, v, 0);
			break;
		case 2:
			expect("protect_range: 0x%x + %u pages reaches into the Switcher region",
			       SWBASE - 0x1000, 2);
			hc_plain(UMBRA_HC_PROTECT_RANGE, top, SWBASE - 0x1000, 2, 0);
			break;
		default:
			v = chance(50) ? top + 4 : mem;
			expect("protect_range: 0x%x is not a %s top-level table inside guest memory", v,
			       FMT_NAME);
			hc_plain(UMBRA_HC_PROTECT_RANGE, v, WIN, 1, 0);
			break;
		}
		break;
	default: {
		/* An exception with no gate: the guest's own ud2. */
		struct fz_in in;

		hc_plain(UMBRA_HC_SET_TRAP, 6, 0, 0, 0);
		M.gate[6] = 0;
		random_gprs(&in);
		random_segs(&in, 1);
		in.eflags = 0x202;
		pick_stack(&in, 0);
		expect("unhandled invalid opcode (vector 6) at eip 0x%x", (u32)(uintptr_t)sn_ud2_at);
		run_op1(&in, sn_ud2, sn_ud2_at, sn_ud2_after);
		break;
	}
	}
	violation("fatal", "still running after the call that should have killed the guest");
}
