/*
 * What umbra needs from the firmware's ACPI tables: where the PM timer and
 * the HPET are, how to power off (S5) and how to reset. Read once at boot, before paging,
 * into plain numbers; nothing looks at the tables afterwards.
 */
#ifndef UMBRA_HV_ACPI_H
#define UMBRA_HV_ACPI_H

#include "../boot/multiboot.h"

#define ACPI_PM_TIMER_HZ	3579545u

struct acpi_info {
	bool fadt;		/* a valid FADT was found */
	char oem[7];		/* its OEM ID, NUL-terminated */
	u16 pm_timer;		/* PM timer port, 0: none */
	bool pm_timer_32;	/* 32-bit counter (else 24-bit) */
	u16 pm1a_cnt, pm1b_cnt;	/* PM1 control ports (b may be 0) */
	u16 smi_cmd;		/* where to ask for ACPI mode, 0: always in it */
	u8 acpi_enable;
	bool s5;		/* \_S5 was found in the DSDT */
	u8 slp_typa, slp_typb;
	bool reset;		/* the FADT names an I/O reset register */
	u16 reset_port;
	u8 reset_value;
	paddr_t hpet;		/* the HPET's registers, 0: none */
};

extern struct acpi_info acpi;

/*
 * Find the RSDP, the RSDT or XSDT, the FADT and the DSDT, checking each
 * signature, length and checksum, and every pointer against the memory
 * map, before reading through it. Must run while physical memory is
 * reachable as it is (before paging). Leaves acpi zeroed where a table is
 * missing or wrong, and says which.
 */
void acpi_init(const struct mb_info *mbi);

#endif
