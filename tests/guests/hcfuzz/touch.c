/*
 * Touching the mappings: a read or write from ring 1 or ring 3, through a
 * chosen segment register (flat, a code segment, a TLS segment, or null),
 * at an address in the window, the kernel window, page 0 and the identity
 * pages that get remapped, or through a self-map. The page tables (walked
 * in software) and the segment descriptor say whether it faults and how;
 * if it does not, the value and the accessed and dirty bits are checked.
 */
#include "fz.h"

#define LEVELS		UMBRA_PT_LEVELS


static const char *const segname[4] = { "ds", "es", "fs", "gs" };

/*
 * What the CPU itself checks on a data access through a segment. QEMU's
 * TCG checks neither null selectors, nor limits, nor writability; there
 * such accesses are predicted as plain accesses at base + offset.
 */
static int cpu_null_gp = 1, cpu_limit_gp = 1, cpu_rw_gp = 1;

static int probe(char *sn, char *at, char *after, u32 sel, u32 off, u32 value)
{
	struct fz_in in;

	random_gprs(&in);
	in.ds = in.es = in.gs = UMBRA_KERNEL_DS;
	in.fs = sel;
	in.ebx = off;
	in.ecx = value;
	in.eflags = 0x202;
	run_op1(&in, sn, at, after);
	return fz_ntraps == 1 && fz_traps[0].f.vector == 13;
}

static void probe_tls2(u64 d)
{
	hc_plain(UMBRA_HC_SET_TLS, 2, (u32)d, (u32)(d >> 32), 0);
	M.tls[2] = d ? d | (1ull << 40) : 0;
}

void seg_probe(void)
{
	cpu_null_gp = probe(sn_rd_fs, sn_rd_fs_at, sn_rd_fs_after, 0, DFR, 0);
	probe_tls2(0x0040b3000000ffffull & ~0xf000000000000ull);	/* limit 0xffff, byte-granular */
	cpu_limit_gp = probe(sn_rd_fs, sn_rd_fs_at, sn_rd_fs_after, 0x51, DFR, 0);
	probe_tls2(0x00c7b1000000ffffull);				/* read-only data, 2 GiB */
	cpu_rw_gp = probe(sn_wr_fs, sn_wr_fs_at, sn_wr_fs_after, 0x51, DFR, 0x0d0d0d0d);
	probe_tls2(0);
	if (!cpu_null_gp || !cpu_limit_gp || !cpu_rw_gp)
		umbra_printf("NOTE hcfuzz: the CPU does not check%s%s%s on data accesses; "
			     "predicted as plain accesses\n",
			     cpu_null_gp ? "" : " null selectors", cpu_limit_gp ? "" : " segment limits",
			     cpu_rw_gp ? "" : " read-only segments");
}

static u32 touch_target(void)
{
	/* The pages the last UPDATE_RANGE announced, while they are news. */
	if (fz_range_pages && chance(15))
		return fz_range_va + 0x1000 * rn(fz_range_pages < WPAGES ? fz_range_pages : WPAGES);
	switch (rn(10)) {
	case 0: case 1: case 2:
		return (chance(70) ? WIN : WIN2) + 0x1000 * rn(WPAGES);
	case 3: case 4:
		return KBASE + 0x1000 * rn(KPAGES);
	case 5:
		return chance(30) ? 0 : IDS + 0x1000 * rn(NIDS);
	case 6: case 7: {
#if UMBRA_PAE
		static const u32 idx[] = { 0, 1, 511, 2, 100 };
#else
		static const u32 idx[] = { 0, 1, 2, WIN >> 22, WIN2 >> 22, SELFVA >> 22, KBASE >> 22, 3 };
#endif
		if (fz_skip & SKIP_SELF)
			return DFR + 0x1000 * rn(NDFR);
		return SELFVA + 0x1000 * PICK(idx);
	}
	case 8:
		return DFR + 0x1000 * rn(NDFR);
	default:
		return M.mem - 0x1000 * (1 + rn(2));
	}
}

/* Does the identity mapping still show frame pa at its own address (ring 1)? */
static int identity_ok(u32 pa)
{
	u32 p2;
	int w, u;

	return pa >= 0x1000 && pa < M.mem && walk(cur_top(), pa & ~0xfffu, &p2, &w, &u) == LEVELS &&
	       (p2 & ~0xfffu) == (pa & ~0xfffu);
}

static int is_table_frame(u32 pa)
{
	return pa >= POOL && pa < POOL_END;
}

/* May the fuzzer write at pa? Data frames, remappable identity frames, fuzz leaf entries. */
static int writable_target(u32 linear, u32 pa)
{
	if (pa >= DFR && pa < DFR + NDFR * 0x1000)
		return 1;
	if (pa >= IDS && pa < IDS + NIDS * 0x1000)
		return 1;
	return is_table_frame(pa) && linear >= SELFVA && linear < SELFVA + DIRSPAN &&
	       is_fuzz_leaf(pa) && !(fz_skip & SKIP_SELFW);
}

static void set_seg(struct fz_in *in, int seg, u32 sel)
{
	switch (seg) {
	case 0: in->ds = sel; break;
	case 1: in->es = sel; break;
	case 2: in->fs = sel; break;
	default: in->gs = sel; break;
	}
}

struct snips {
	char *s, *at, *after;
};

static struct snips touch_snip(int ring, int write, int seg)
{
	static char *const r1[2][4][3] = {
		{ { sn_rd_ds, sn_rd_ds_at, sn_rd_ds_after }, { sn_rd_es, sn_rd_es_at, sn_rd_es_after },
		  { sn_rd_fs, sn_rd_fs_at, sn_rd_fs_after }, { sn_rd_gs, sn_rd_gs_at, sn_rd_gs_after } },
		{ { sn_wr_ds, sn_wr_ds_at, sn_wr_ds_after }, { sn_wr_es, sn_wr_es_at, sn_wr_es_after },
		  { sn_wr_fs, sn_wr_fs_at, sn_wr_fs_after }, { sn_wr_gs, sn_wr_gs_at, sn_wr_gs_after } },
	};
	static char *const r3[2][4][3] = {
		{ { u3_rd_ds, u3_rd_ds_at, u3_rd_ds_after }, { u3_rd_es, u3_rd_es_at, u3_rd_es_after },
		  { u3_rd_fs, u3_rd_fs_at, u3_rd_fs_after }, { u3_rd_gs, u3_rd_gs_at, u3_rd_gs_after } },
		{ { u3_wr_ds, u3_wr_ds_at, u3_wr_ds_after }, { u3_wr_es, u3_wr_es_at, u3_wr_es_after },
		  { u3_wr_fs, u3_wr_fs_at, u3_wr_fs_after }, { u3_wr_gs, u3_wr_gs_at, u3_wr_gs_after } },
	};
	char *const *p = ring == 1 ? r1[write][seg] : r3[write][seg];
	struct snips s = { p[0], p[1], p[2] };

	return s;
}

/*
 * After a ring-1 or ring-3 op that either completed or faulted once and
 * resumed after the faulting instruction: the fault's frame against x (if
 * any), and the registers and flags at the end against in.
 */
void check_simple_op(const char *name, int ring, const struct fz_in *in, const struct xtrap *x,
		     u32 eax_skip)
{
	unsigned n = 0, other;
	u32 want[4], got[4], flags;
	int ndb;
	const struct fz_frame *end = 0;
	extern u32 fz_db_expect_eip;

	fz_db_expect_eip = x && x->vector == 1 ? x->eip : 0;
	check_db_traps(name, in->eflags, ring);
	fz_db_expect_eip = 0;
	while (n < fz_ntraps && n < MAXTRAPS && fz_traps[n].f.vector == 1 &&
	       !(x && x->vector == 1 && (fz_traps[n].f.eip == x->eip || fz_traps[n].f.eip == x->eip2)))
		n++;
	if (x) {
		if (n >= fz_ntraps) {
			violation(name, "no trap, expected vector %u at eip 0x%x", x->vector, x->eip);
			return;
		}
		if (check_trap(name, n, x))
			return;
		n++;
		while (n < fz_ntraps && n < MAXTRAPS && fz_traps[n].f.vector == 1)
			n++;
	}
	/* TF was there if some #DB frame shows it (the handler clears it) */
	ndb = 0;
	(void)other;
	for (unsigned i = 0; i < fz_ntraps && i < MAXTRAPS; i++)
		if (fz_traps[i].f.vector == 1 && (fz_traps[i].f.eflags & F_TF))
			ndb = 1;
	if (ring == 1) {
		if (n < fz_ntraps && n < MAXTRAPS) {
			const struct fz_frame *f = &fz_traps[n].f;

			violation(name, "unexpected vector %u error 0x%x at eip 0x%x (cr2 0x%x)",
				  f->vector, f->error, f->eip, fz_traps[n].cr2);
			return;
		}
		if (fz_escaped) {
			violation(name, "escaped (%u traps)", fz_ntraps);
			return;
		}
		want[0] = in->gs, want[1] = in->fs, want[2] = in->es, want[3] = in->ds;
		got[0] = fz_out.gs, got[1] = fz_out.fs, got[2] = fz_out.es, got[3] = fz_out.ds;
		expect_segs(name, want, got);
		expect_gprs(name, in, &fz_out.edi, eax_skip);
		flags = fz_out.eflags;
	} else {
		if (n >= fz_ntraps || n >= MAXTRAPS || fz_traps[n].f.vector != RET_VEC) {
			if (n < fz_ntraps && n < MAXTRAPS)
				violation(name, "vector %u error 0x%x at eip 0x%x (cr2 0x%x), expected the "
					  "return trap", fz_traps[n].f.vector, fz_traps[n].f.error,
					  fz_traps[n].f.eip, fz_traps[n].cr2);
			else
				violation(name, "no return trap (%u traps)", fz_ntraps);
			return;
		}
		end = &fz_traps[n].f;
		want[0] = after_iret3(in->gs), want[1] = after_iret3(in->fs);
		want[2] = after_iret3(in->es), want[3] = after_iret3(in->ds);
		got[0] = end->gs, got[1] = end->fs, got[2] = end->es, got[3] = end->ds;
		expect_segs(name, want, got);
		expect_gprs(name, in, &end->edi, eax_skip);
		if (end->esp != fz_in.esp || (end->ss & 0xffff) != UMBRA_USER_DS)
			violation(name, "ring-3 esp/ss 0x%x/0x%x at the end, expected 0x%x/0x33", end->esp,
				  end->ss, fz_in.esp);
		flags = (end->eflags & ~F_IF) | F_IF;	/* the frame's IF is the virtual one */
		fz_out.eax = end->eax;
	}
	if (ndb)
		flags |= F_TF;
	check_flags(name, in->eflags, flags, 0);
}

void op_touch(void)
{
	struct fz_in in;
	struct xtrap x;
	struct snips sn;
	u32 va, off, sel, base = 0, limit = SWBASE - 1, access = 0x13, pa = 0, value, lv, esp = 0;
	int ring = chance(40) ? 3 : 1, write = chance(40), seg = (int)rn(4), w = 0, u = 0;
	int gp = 0, pf = 0;
	char name[80];

	ensure_fresh();
	va = touch_target() + 4 * rn(1024);
	lv = (u32)walk(cur_top(), va, &pa, &w, &u);
	if (write && lv == LEVELS && w && (ring == 1 || u) && !writable_target(va, pa))
		write = 0;

	random_gprs(&in);
	random_segs(&in, ring);
	in.eflags = random_eflags();

	/* The segment register the access goes through, as ring `ring` holds it. */
	if (chance(55))
		sel = ring == 1 && chance(70) ? UMBRA_KERNEL_DS : UMBRA_USER_DS;
	else if (chance(15))
		sel = rn(4);
	else
		sel = random_sel(ring);
	if (ring == 3) {
		/* iret's null keeps the old base on some CPUs: only plain nulls where unchecked */
		if (!cpu_null_gp && (sel & ~3u) && !after_iret3(sel))
			sel = UMBRA_USER_DS;
		sel = after_iret3(sel);
	}
	set_seg(&in, seg, sel);
	if ((sel & ~3u) == 0) {
		gp = cpu_null_gp;
	} else {
		u64 d = gdt_desc(sel >> 3);

		base = seg_base(d);
		limit = seg_limit(d);
		access = (u32)(d >> 40) & 0xff;
	}
	off = va - base;
	if (!gp && cpu_limit_gp && (limit < 3 || off > limit - 3))
		gp = 1;
	if (!gp && cpu_rw_gp && write && ((access & 0x08) || !(access & 0x02)))
		gp = 1;
	if ((sel & ~3u) == 0)
		off = va;	/* no base at all */
	if (!gp)
		pf = lv != LEVELS || (write && !w) || (ring == 3 && !u);

	/* What to write: an entry for a leaf table, '\r' for the console frames. */
	if (is_table_frame(pa)) {
		value = (u32)gen_leaf_value();
#if UMBRA_PAE
		if (pa & 4)
			value = 0;
		else if ((value & 1) && *(volatile u32 *)(uintptr_t)((pa & ~7u) + 4))
			value &= ~1u;	/* a present entry with junk above would be invalid */
#endif
	} else if (pa >= DFR && pa < DFR + NCRFR * 0x1000) {
		value = 0x0d0d0d0d;
	} else {
		value = rnd();
	}
	in.ebx = off;
	in.ecx = value;
	sn = touch_snip(ring, write, seg);
	umbra_snprintf(name, sizeof(name), "touch: ring-%d %s of 0x%x via %s=0x%x", ring,
		       write ? "write" : "read", va, segname[seg], sel);
	trace("op %u: %s eflags 0x%x, expect %s (pa 0x%x, levels %u w %d u %d)", fz_op, name,
	      in.eflags, gp ? "#GP" : pf ? "#PF" : "success", pa, lv, w, u);

	if (ring == 1) {
		esp = fz_xesp = XSTK_TOP - 0x1000 - 4 * rn(256);
		in.ss = UMBRA_KERNEL_DS;
		run_op1(&in, sn.s, sn.at, sn.after);
		fz_xesp = 0;
	} else {
		run_op3(&in, sn.s, sn.at, sn.after);
		esp = fz_in.esp;
	}
	if (gp || pf) {
		xtrap_for(&x, gp ? 13 : 14, ring, in.eflags, (u32)(uintptr_t)sn.at, esp, 0);
		x.has_err = 1;
		x.err = gp ? 0 : (lv == LEVELS ? 1 : 0) | (write ? 2 : 0) | (ring == 3 ? 4 : 0);
		x.cr2 = va;
		check_simple_op(name, ring, &in, &x, 0);
		return;
	}
	check_simple_op(name, ring, &in, 0, write ? 0 : 1u << 7);

	/* It went through: the data, and A and D in the guest's entries. */
	if (identity_ok(pa)) {
		u32 now = *(volatile u32 *)(uintptr_t)pa;

		if (write && now != value)
			violation(name, "wrote 0x%x, memory at pa 0x%x holds 0x%x", value, pa, now);
		if (!write && ((now ^ fz_out.eax) & (is_table_frame(pa) ? ~0x60u : ~0u)))
			violation(name, "read 0x%x, memory at pa 0x%x holds 0x%x", fz_out.eax, pa, now);
	}
	{
		umbra_pte_t *l = leaf_slot(cur_top(), va), *d = dir_slot(cur_top(), va);

		if (l && !(*l & UMBRA_PTE_A))
			violation("accessed bit", "%s: leaf entry 0x%llx lacks A", name, (u64)*l);
		if (l && write && !(*l & UMBRA_PTE_D))
			violation("dirty bit", "%s: leaf entry 0x%llx lacks D", name, (u64)*l);
		if (d && !(*d & UMBRA_PTE_A))
			violation("accessed bit", "%s: directory entry 0x%llx lacks A", name, (u64)*d);
	}
	if (write && is_table_frame(pa))	/* a leaf entry changed behind the hypervisor's back */
		M.stale |= tops_linking_leaf(pa & ~0xfffu);
}
