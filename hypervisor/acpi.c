/*
 * A small reader of the firmware's ACPI tables (ACPI 6.x, chapter 5).
 *
 * The chain is RSDP -> RSDT or XSDT -> FADT -> DSDT. Every pointer in it
 * comes from firmware, which may be wrong, and some machines put device
 * registers where a careless reader would look for tables: so each table
 * is read only after the memory map says it lies in firmware memory, its
 * signature matches and its length is sane, and used only if its checksum
 * is right. From the FADT come port numbers (the PM timer, PM1 control,
 * the reset register); from the DSDT the two sleep-type values of \_S5,
 * found by a bounded scan of its AML for the one name; from the HPET
 * table the HPET's address.
 */
#include "acpi.h"
#include "console.h"
#include "../mm/boot_mem.h"
#include "../mm/phys.h"
#include "../lib/string.h"

struct acpi_info acpi;

#define EBDA_SEGMENT_PTR	0x40e		/* BIOS data area: EBDA segment */
#define EBDA_SCAN_BYTES		1024
#define BIOS_ROM_START		0xe0000
#define BIOS_ROM_END		0x100000
#define RSDP_V1_LEN		20
#define RSDP_V2_LEN		36
#define SDT_HEADER_LEN		36
#define MAX_TABLE_LEN		(1u << 16)	/* RSDT, XSDT, FADT */
#define MAX_DSDT_LEN		(4u << 20)

/* FADT offsets (ACPI 6.x, 5.2.9). */
#define FADT_DSDT		40
#define FADT_SMI_CMD		48
#define FADT_ACPI_ENABLE	52
#define FADT_PM1A_CNT		64
#define FADT_PM1B_CNT		68
#define FADT_PM_TMR		76
#define FADT_PM_TMR_LEN		91
#define FADT_FLAGS		112
#define FADT_RESET_REG		116
#define FADT_RESET_VALUE	128
#define FADT_X_DSDT		140
#define FADT_X_PM1A_CNT		172
#define FADT_X_PM1B_CNT		184
#define FADT_X_PM_TMR		208
#define FADT_FLAG_TMR_VAL_EXT	(1u << 8)
#define FADT_FLAG_RESET_REG_SUP	(1u << 10)
#define GAS_LEN			12
#define GAS_SYSTEM_MEMORY	0
#define GAS_SYSTEM_IO		1
#define HPET_BASE		40	/* its GAS in the HPET table */

/* AML opcodes (ACPI 6.x, 20.2) met on the way to \_S5's values. */
#define AML_ZERO		0x00
#define AML_ONE			0x01
#define AML_NAME		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_PACKAGE		0x12
#define AML_ROOT_PREFIX		'\\'

static const struct mb_info *boot_info;

static u32 get32(const u8 *p) { return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24; }
static u64 get64(const u8 *p) { return get32(p) | (u64)get32(p + 4) << 32; }

static bool sum_is_zero(const u8 *p, u32 len)
{
	u8 sum = 0;

	while (len--)
		sum += *p++;
	return sum == 0;
}

/* A pointer from firmware: below 4 GiB and in memory the map lists. */
static const u8 *firmware_ptr(u64 pa, u32 len)
{
	if (!pa || pa + len > 0x100000000ull || !boot_mem_firmware_range(boot_info, pa, len))
		return NULL;
	return phys_to_virt((paddr_t)pa);
}

static const u8 *find_rsdp_in(u32 start, u32 end)
{
	for (u32 pa = start; pa + RSDP_V1_LEN <= end; pa += 16) {
		const u8 *p = phys_to_virt(pa);

		if (!memcmp(p, "RSD PTR ", 8) && sum_is_zero(p, RSDP_V1_LEN))
			return p;
	}
	return NULL;
}

/*
 * The BIOS data area, in the first page: through a volatile pointer,
 * because GCC warns of reads it can see land near address 0.
 */
static u16 bios_data_word(paddr_t pa)
{
	const u8 *volatile p = phys_to_virt(pa);

	return p[0] | p[1] << 8;
}

/*
 * UEFI firmware keeps the RSDP where it keeps the tables, in memory the map
 * calls ACPI (reclaimable or NVS), and names it only in its system table,
 * which Multiboot 1 does not pass: so those regions are searched too, the
 * ones below 4 GiB and at most ACPI_SCAN_MAX bytes of each.
 */
#define ACPI_SCAN_MAX	MiB(1)

static const u8 *find_rsdp_in_map(void)
{
	u32 p, end;

	if (!boot_info || !(boot_info->flags & MB_INFO_MEM_MAP))
		return NULL;
	p = boot_info->mmap_addr, end = boot_info->mmap_addr + boot_info->mmap_length;
	for (; p + sizeof(struct mb_mmap_entry) <= end; p += ((const struct mb_mmap_entry *)(uintptr_t)p)->size + 4) {
		const struct mb_mmap_entry *e = (const void *)(uintptr_t)p;
		u64 stop = e->addr + MIN(e->len, (u64)ACPI_SCAN_MAX);
		const u8 *r;

		if ((e->type != MB_MEMORY_ACPI && e->type != MB_MEMORY_NVS) || e->addr % 16 ||
		    stop > 0x100000000ull)
			continue;
		if ((r = find_rsdp_in((u32)e->addr, (u32)stop)))
			return r;
	}
	return NULL;
}

static const u8 *find_rsdp(void)
{
	u32 ebda = (u32)bios_data_word(EBDA_SEGMENT_PTR) << 4;
	const u8 *p = NULL;

	if (ebda >= 0x80000 && ebda < 0xa0000)
		p = find_rsdp_in(ebda, ebda + EBDA_SCAN_BYTES);
	if (!p)
		p = find_rsdp_in(BIOS_ROM_START, BIOS_ROM_END);
	return p ? p : find_rsdp_in_map();
}

/*
 * The table at pa if it is one with this signature, no longer than max
 * and whole in firmware memory; its checksum is checked only if asked
 * (firmware ships DSDTs with wrong ones, and only a name is read there).
 */
static const u8 *table_at(u64 pa, const char *sig, u32 max, bool check_sum)
{
	const u8 *t = firmware_ptr(pa, SDT_HEADER_LEN);
	u32 len;

	if (!t || memcmp(t, sig, 4))
		return NULL;
	len = get32(t + 4);
	if (len < SDT_HEADER_LEN || len > max || !firmware_ptr(pa, len)) {
		klog(LOG_INFO, "umbra: ACPI: %s at 0x%llx: length %u is not usable\n", sig, pa, len);
		return NULL;
	}
	if (check_sum && !sum_is_zero(t, len)) {
		klog(LOG_INFO, "umbra: ACPI: %s at 0x%llx: bad checksum; ignored\n", sig, pa);
		return NULL;
	}
	return t;
}

/* The XSDT (8-byte entries) if there is a valid one, else the RSDT (4-byte ones). */
static const u8 *find_root(const u8 *rsdp, unsigned *entry)
{
	const u8 *root = NULL;

	*entry = 8;
	if (rsdp[15] >= 2 && sum_is_zero(rsdp, RSDP_V2_LEN))
		root = table_at(get64(rsdp + 24), "XSDT", MAX_TABLE_LEN, true);
	if (!root) {
		*entry = 4;
		root = table_at(get32(rsdp + 16), "RSDT", MAX_TABLE_LEN, true);
	}
	if (!root)
		klog(LOG_INFO, "umbra: ACPI: no valid RSDT or XSDT\n");
	return root;
}

static const u8 *find_table(const u8 *root, unsigned entry, const char *sig)
{
	for (u32 off = SDT_HEADER_LEN; off + entry <= get32(root + 4); off += entry) {
		u64 pa = entry == 8 ? get64(root + off) : get32(root + off);
		const u8 *t = firmware_ptr(pa, SDT_HEADER_LEN);

		if (t && !memcmp(t, sig, 4))
			return table_at(pa, sig, MAX_TABLE_LEN, true);
	}
	return NULL;
}

/* The HPET's registers: a 4 KiB-aligned page of memory-space MMIO below 4 GiB. */
static void read_hpet(const u8 *hpet)
{
	u64 base;

	if (get32(hpet + 4) < HPET_BASE + 4 + 8 || hpet[HPET_BASE] != GAS_SYSTEM_MEMORY)
		return;
	base = get64(hpet + HPET_BASE + 4);
	if (base && base % 4096 == 0 && base < 0x100000000ull)
		acpi.hpet = (paddr_t)base;
}

/* An I/O port from a 32-bit block field, or else from its extended GAS (off_gas, 0: none). */
static u16 fadt_port(const u8 *fadt, u32 len, unsigned off32, unsigned off_gas)
{
	u32 port = get32(fadt + off32);
	u64 addr;

	if (!port && off_gas && off_gas + GAS_LEN <= len && fadt[off_gas] == GAS_SYSTEM_IO) {
		addr = get64(fadt + off_gas + 4);
		port = addr <= 0xffff ? (u32)addr : 0;
	}
	return port <= 0xffff ? (u16)port : 0;
}

/* One small AML integer: Zero, One, or a BytePrefix'd byte. */
static bool aml_byte(const u8 **p, const u8 *end, u8 *v)
{
	if (*p >= end)
		return false;
	if (**p == AML_ZERO || **p == AML_ONE) {
		*v = *(*p)++;
		return true;
	}
	if (**p == AML_BYTE_PREFIX && *p + 1 < end) {
		*v = (*p)[1];
		*p += 2;
		return true;
	}
	return false;
}

/*
 * Name(\_S5, Package(n) { SLP_TYPa, SLP_TYPb, ... }): NameOp, an optional
 * root prefix, "_S5_", PackageOp, a PkgLength of 1-4 bytes (the top two
 * bits of the first say how many follow), the element count, then the
 * values. Anything else where "_S5_" appears (a reference in a method) is
 * passed over.
 */
static bool parse_s5(const u8 *at, const u8 *start, const u8 *end)
{
	const u8 *p = at + 4;
	u8 a, b;

	if (!((at - start >= 1 && at[-1] == AML_NAME) ||
	      (at - start >= 2 && at[-1] == AML_ROOT_PREFIX && at[-2] == AML_NAME)))
		return false;
	if (p >= end || *p++ != AML_PACKAGE || p >= end)
		return false;
	p += 1 + (*p >> 6);	/* PkgLength */
	if (p >= end || *p++ < 2)
		return false;
	if (!aml_byte(&p, end, &a) || !aml_byte(&p, end, &b) || a > 7 || b > 7)
		return false;
	acpi.slp_typa = a;
	acpi.slp_typb = b;
	return true;
}

static void find_s5(const u8 *fadt, u32 len)
{
	u64 pa = get32(fadt + FADT_DSDT);
	const u8 *dsdt, *end;

	if (FADT_X_DSDT + 8 <= len && get64(fadt + FADT_X_DSDT))
		pa = get64(fadt + FADT_X_DSDT);
	dsdt = table_at(pa, "DSDT", MAX_DSDT_LEN, false);
	if (!dsdt) {
		klog(LOG_INFO, "umbra: ACPI: no DSDT at 0x%llx\n", pa);
		return;
	}
	end = dsdt + get32(dsdt + 4);
	for (const u8 *p = dsdt + SDT_HEADER_LEN; p + 4 <= end; p++)
		if (!memcmp(p, "_S5_", 4) && parse_s5(p, dsdt, end)) {
			acpi.s5 = true;
			return;
		}
}

static void read_fadt(const u8 *fadt)
{
	u32 len = get32(fadt + 4);
	u32 flags = len >= FADT_FLAGS + 4 ? get32(fadt + FADT_FLAGS) : 0;

	memcpy(acpi.oem, fadt + 10, 6);
	acpi.fadt = true;
	acpi.smi_cmd = fadt_port(fadt, len, FADT_SMI_CMD, 0);
	acpi.acpi_enable = fadt[FADT_ACPI_ENABLE];
	acpi.pm1a_cnt = fadt_port(fadt, len, FADT_PM1A_CNT, FADT_X_PM1A_CNT);
	acpi.pm1b_cnt = fadt_port(fadt, len, FADT_PM1B_CNT, FADT_X_PM1B_CNT);
	if (fadt[FADT_PM_TMR_LEN] == 4 || !get32(fadt + FADT_PM_TMR))
		acpi.pm_timer = fadt_port(fadt, len, FADT_PM_TMR, FADT_X_PM_TMR);
	acpi.pm_timer_32 = flags & FADT_FLAG_TMR_VAL_EXT;
	if ((flags & FADT_FLAG_RESET_REG_SUP) && len > FADT_RESET_VALUE &&
	    fadt[FADT_RESET_REG] == GAS_SYSTEM_IO && get64(fadt + FADT_RESET_REG + 4) <= 0xffff) {
		acpi.reset = true;
		acpi.reset_port = (u16)get64(fadt + FADT_RESET_REG + 4);
		acpi.reset_value = fadt[FADT_RESET_VALUE];
	}
	find_s5(fadt, len);
}

void acpi_init(const struct mb_info *mbi)
{
	const u8 *rsdp, *root, *fadt, *hpet;
	unsigned entry;

	memset(&acpi, 0, sizeof(acpi));
	boot_info = mbi;
	rsdp = find_rsdp();
	if (!rsdp) {
		klog(LOG_INFO, "umbra: ACPI: no RSDP found\n");
		return;
	}
	root = find_root(rsdp, &entry);
	if (!root)
		return;
	hpet = find_table(root, entry, "HPET");
	if (hpet)
		read_hpet(hpet);
	fadt = find_table(root, entry, "FACP");
	if (fadt && get32(fadt + 4) > FADT_PM_TMR_LEN)
		read_fadt(fadt);
	if (!acpi.fadt) {
		klog(LOG_INFO, "umbra: ACPI: no valid FADT\n");
		return;
	}
	klog(LOG_DEBUG, "umbra: ACPI: FADT from \"%s\": PM timer 0x%x (%u bits), PM1 control "
	     "0x%x/0x%x, \\_S5 %s (%u/%u), reset %s 0x%x <- 0x%x, HPET 0x%x\n", acpi.oem, acpi.pm_timer,
	     acpi.pm_timer_32 ? 32 : 24, acpi.pm1a_cnt, acpi.pm1b_cnt, acpi.s5 ? "found" : "missing",
	     acpi.slp_typa, acpi.slp_typb, acpi.reset ? "register" : "none", acpi.reset_port,
	     acpi.reset_value, (u32)acpi.hpet);
}
