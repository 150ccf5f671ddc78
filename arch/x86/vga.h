/* The VGA text screen, a mirror of the serial console for real hardware. */
#ifndef UMBRA_ARCH_VGA_H
#define UMBRA_ARCH_VGA_H

void vga_init(void);
void vga_putc(char c);

#endif
