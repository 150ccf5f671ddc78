/*
 * The VGA text screen at 0xb8000, a mirror of the serial console where a PC
 * has one. ncols is even, and the screen fits at least twice in text memory
 * (hypervisor/display.c keeps to 40-132 columns and 25-60 rows).
 */
#ifndef UMBRA_ARCH_VGA_H
#define UMBRA_ARCH_VGA_H

void vga_init(unsigned ncols, unsigned nrows);
void vga_putc(char c);

#endif
