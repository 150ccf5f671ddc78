/*
 * The ACPI table reader (hypervisor/acpi.c) over simulated memory: tables
 * as QEMU's firmware lays them out, then each kind of damage a firmware
 * can ship, each of which must leave the reader with nothing (or with
 * what it could still trust) rather than reading where a pointer says.
 * "Firmware memory" is one range the test chooses; a read outside the
 * simulated RAM would be caught by AddressSanitizer.
 */
#include <stdlib.h>

#include "check.h"
#include "../../hypervisor/acpi.c"

#define RAM_SIZE	(2u << 20)
#define RSDP_AT		0xe0040u
#define TABLES		0x100000u	/* firmware memory: TABLES .. RAM_SIZE */
#define RSDT_AT		(TABLES + 0x000)
#define XSDT_AT		(TABLES + 0x080)
#define FADT_AT		(TABLES + 0x100)
#define HPET_AT		(TABLES + 0x300)
#define DSDT_AT		(TABLES + 0x400)
#define FADT_LEN	244

static u64 fw_start = TABLES, fw_end = RAM_SIZE;

bool boot_mem_firmware_range(const struct mb_info *mbi, u64 start, u64 len)
{
	return (start + len <= MiB(1) && start + len <= RAM_SIZE) ||
	       (start >= fw_start && start + len <= fw_end);
}

void klog(unsigned level, const char *fmt, ...)
{
}

static u8 *at(u32 pa) { return hosted_ram + pa; }
static void put32(u32 pa, u32 v) { memcpy(at(pa), &v, 4); }
static void put64(u32 pa, u64 v) { memcpy(at(pa), &v, 8); }

static void fix_sum(u32 pa, u32 len, unsigned sum_off)
{
	u8 s = 0;

	at(pa)[sum_off] = 0;
	for (u32 i = 0; i < len; i++)
		s += at(pa)[i];
	at(pa)[sum_off] = (u8)-s;
}

static void header(u32 pa, const char *sig, u32 len)
{
	memcpy(at(pa), sig, 4);
	put32(pa + 4, len);
	memcpy(at(pa + 10), "BOCHS ", 6);
}

static void table_done(u32 pa)
{
	u32 len;

	memcpy(&len, at(pa + 4), 4);
	fix_sum(pa, len, 9);
}

/* Name(_S5_, Package(4) { 5, Zero, Zero, Zero }), after a reference to _S5_ in code. */
static const u8 dsdt_body[] = {
	0x70, '_', 'S', '5', '_', 0x60,				/* Store(_S5_, Local0) */
	0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00,
};

static void build(void)
{
	memset(hosted_ram, 0, RAM_SIZE);
	/* RSDP, revision 2, with an XSDT that names the same FADT. */
	memcpy(at(RSDP_AT), "RSD PTR ", 8);
	memcpy(at(RSDP_AT + 9), "BOCHS ", 6);
	at(RSDP_AT)[15] = 2;
	put32(RSDP_AT + 16, RSDT_AT);
	put32(RSDP_AT + 20, 36);
	put64(RSDP_AT + 24, XSDT_AT);
	fix_sum(RSDP_AT, 20, 8);
	fix_sum(RSDP_AT, 36, 32);
	header(RSDT_AT, "RSDT", 36 + 8);
	put32(RSDT_AT + 36, HPET_AT);
	put32(RSDT_AT + 40, FADT_AT);
	table_done(RSDT_AT);
	header(XSDT_AT, "XSDT", 36 + 16);
	put64(XSDT_AT + 36, HPET_AT);
	put64(XSDT_AT + 44, FADT_AT);
	table_done(XSDT_AT);
	header(HPET_AT, "HPET", 56);
	put64(HPET_AT + HPET_BASE + 4, 0xfed00000u);	/* GAS: system memory */
	table_done(HPET_AT);
	header(FADT_AT, "FACP", FADT_LEN);
	put32(FADT_AT + FADT_DSDT, DSDT_AT);
	put32(FADT_AT + FADT_SMI_CMD, 0xb2);
	at(FADT_AT)[FADT_ACPI_ENABLE] = 0xf1;
	put32(FADT_AT + FADT_PM1A_CNT, 0x604);
	put32(FADT_AT + FADT_PM_TMR, 0x608);
	at(FADT_AT)[FADT_PM_TMR_LEN] = 4;
	put32(FADT_AT + FADT_FLAGS, FADT_FLAG_RESET_REG_SUP);
	at(FADT_AT)[FADT_RESET_REG] = GAS_SYSTEM_IO;
	put64(FADT_AT + FADT_RESET_REG + 4, 0xcf9);
	at(FADT_AT)[FADT_RESET_VALUE] = 0x0f;
	table_done(FADT_AT);
	header(DSDT_AT, "DSDT", 36 + sizeof(dsdt_body));
	memcpy(at(DSDT_AT + 36), dsdt_body, sizeof(dsdt_body));
	table_done(DSDT_AT);
}

static void test_good(void)
{
	build();
	acpi_init(NULL);
	CHECK(acpi.fadt && !strcmp(acpi.oem, "BOCHS "), "good tables: the FADT is found, OEM BOCHS");
	CHECK(acpi.pm_timer == 0x608 && !acpi.pm_timer_32, "good tables: PM timer 0x608, 24 bits");
	CHECK(acpi.pm1a_cnt == 0x604 && !acpi.pm1b_cnt, "good tables: PM1a control 0x604, no PM1b");
	CHECK(acpi.smi_cmd == 0xb2 && acpi.acpi_enable == 0xf1, "good tables: SMI_CMD and ACPI_ENABLE");
	CHECK(acpi.s5 && acpi.slp_typa == 5 && acpi.slp_typb == 0,
	      "good tables: \\_S5 sleep types 5/0, the reference in code passed over");
	CHECK(acpi.reset && acpi.reset_port == 0xcf9 && acpi.reset_value == 0x0f,
	      "good tables: reset register 0xcf9 <- 0x0f");
	CHECK(acpi.hpet == 0xfed00000u, "good tables: HPET at 0xfed00000");
}

static void test_damage(void)
{
	build();
	at(FADT_AT + 40)[0] ^= 1;	/* the DSDT pointer, checksum now wrong */
	acpi_init(NULL);
	CHECK(!acpi.fadt && !acpi.pm_timer, "bad FADT checksum: nothing taken from it");

	build();
	at(RSDP_AT)[8] ^= 0xff;
	acpi_init(NULL);
	CHECK(!acpi.fadt, "bad RSDP checksum: no RSDP");

	build();
	put64(XSDT_AT + 44, 0x1fee00000ull);	/* above 4 GiB */
	table_done(XSDT_AT);
	acpi_init(NULL);
	CHECK(!acpi.fadt, "XSDT entry above 4 GiB: not followed");

	build();
	at(RSDP_AT)[15] = 0;			/* ACPI 1.0: the RSDT only */
	fix_sum(RSDP_AT, 20, 8);
	put32(RSDT_AT + 40, 0xfec00000u);	/* device memory, outside the map (and the buffer) */
	table_done(RSDT_AT);
	acpi_init(NULL);
	CHECK(!acpi.fadt, "RSDT entry in device memory: not read");

	build();
	at(XSDT_AT)[0] = 'Y';			/* no XSDT: the RSDT is used */
	acpi_init(NULL);
	CHECK(acpi.fadt && acpi.pm_timer == 0x608, "broken XSDT: the RSDT still leads to the FADT");

	build();
	put32(FADT_AT + 4, 0x100000);		/* a length past firmware memory */
	acpi_init(NULL);
	CHECK(!acpi.fadt, "FADT length reaching beyond firmware memory: refused");

	build();
	fw_end = FADT_AT + FADT_LEN;		/* the DSDT lies outside the listed range */
	acpi_init(NULL);
	fw_end = RAM_SIZE;
	CHECK(acpi.fadt && !acpi.s5, "DSDT outside firmware memory: FADT used, no \\_S5");

	build();
	put32(DSDT_AT + 4, 36 + sizeof(dsdt_body) - 3);	/* the package cut short */
	table_done(DSDT_AT);
	acpi_init(NULL);
	CHECK(acpi.fadt && !acpi.s5, "\\_S5 package cut by the DSDT's end: not read past it");

	build();
	at(DSDT_AT + 36 + 15)[0] = 9;		/* SLP_TYPa 9 does not fit 3 bits */
	table_done(DSDT_AT);
	acpi_init(NULL);
	CHECK(!acpi.s5, "\\_S5 sleep type out of range: refused");

	build();
	put64(HPET_AT + HPET_BASE + 4, 0xfed00800u);
	table_done(HPET_AT);
	acpi_init(NULL);
	CHECK(acpi.fadt && !acpi.hpet, "HPET registers not page-aligned: no HPET");

	build();
	at(FADT_AT)[FADT_PM_TMR_LEN] = 2;
	table_done(FADT_AT);
	acpi_init(NULL);
	CHECK(acpi.fadt && !acpi.pm_timer, "PM timer block of length 2: no PM timer");
}

int main(void)
{
	hosted_ram = calloc(1, RAM_SIZE);
	test_good();
	test_damage();
	free(hosted_ram);
	return check_status();
}
