/* Turning Multiboot modules into guests. */
#ifndef UMBRA_HV_LOADER_H
#define UMBRA_HV_LOADER_H

#include "../boot/multiboot.h"

/*
 * Load every module as a guest. A bad module is refused with a message
 * naming it and the reason; the others still load. Returns how many
 * guests were created.
 */
unsigned load_modules(const struct mb_info *mbi);

/* Modules refused by load_modules(); any makes the run a failure. */
extern unsigned modules_refused;

#endif
