/*
 * Lazy FPU and SSE state. The registers belong to one guest at a time;
 * every other guest runs with CR0.TS set, so its first FPU or SSE
 * instruction raises #NM, and only then are the registers swapped. A guest
 * that never touches the FPU never pays for it.
 */
#ifndef UMBRA_HV_FPU_H
#define UMBRA_HV_FPU_H

#include "guest.h"

void fpu_init(void);
void fpu_guest_init(struct guest *g);

/* g takes the CPU: set CR0.TS unless its state is already loaded. */
void fpu_enter(const struct guest *g);

/* #NM from g: make its state the loaded one. */
void fpu_trap(struct guest *g);

/* g is gone: its state, if loaded, belongs to nobody. */
void fpu_forget(const struct guest *g);

#endif
