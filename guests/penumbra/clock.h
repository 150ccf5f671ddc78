#ifndef PENUMBRA_CLOCK_H
#define PENUMBRA_CLOCK_H

#include <stdint.h>

uint32_t clock_ms(void);
int clock_sleep_ms(uint32_t ms);

#endif
