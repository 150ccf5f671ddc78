/*
 * Debug keys on the serial console, read when the UART interrupts:
 *   g  guests: state, memory, time run, world switches, exits, hypercalls
 *   m  memory by owner
 *   r  registers of the guest that was running
 *   s  shadow page-table statistics per guest
 *   h  this list
 */
#ifndef UMBRA_HV_DEBUGKEYS_H
#define UMBRA_HV_DEBUGKEYS_H

void debugkeys_poll(void);
void debugkeys_handle(int key);

#endif
