/*
 * Debug keys on the serial console, while the console's input has the
 * hypervisor's focus (console_in.c):
 *   g  guests: state, memory, time run, world switches, exits, hypercalls
 *   m  memory by owner
 *   r  registers of the guest that was running
 *   s  shadow page-table statistics per guest
 *   h  this list
 */
#ifndef UMBRA_HV_DEBUGKEYS_H
#define UMBRA_HV_DEBUGKEYS_H

void debugkeys_handle(int key);

#endif
