/*
 * QEMU's isa-debug-exit device (iobase 0xf4, as the test harness and
 * make run give it): a value written there ends QEMU with status
 * (value << 1) | 1. QEMU's own errors exit with 1, so success must not be 0.
 */
#ifndef UMBRA_ARCH_DEBUG_EXIT_H
#define UMBRA_ARCH_DEBUG_EXIT_H

#define DEBUG_EXIT_PORT		0xf4
#define DEBUG_EXIT_SUCCESS	0x10	/* QEMU exits 33 */
#define DEBUG_EXIT_FAILURE	0x11	/* 35 */
#define DEBUG_EXIT_CPU		0x12	/* 37: this CPU cannot run umbra (cpu_check.c) */

#endif
