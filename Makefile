# umbra: one flat build for the hypervisor, the guest runtime, the guests,
# the test guests, the ISO and the host-side tests. `make help` lists targets.
#
# Every target first installs what it needs (tools/deps.sh, through the
# deps-* targets below), and the tools are named here, never looked for when
# make starts: on a fresh machine they do not exist yet at that moment. Each
# build directory holds a file `toolchain` naming the tools and flags that
# built it; every object depends on it, so another compiler or other flags
# rebuild what they affect.

PAE	?= 0
FMT	:= $(if $(filter 1,$(PAE)),pae,nopae)
B	:= build/$(FMT)
HB	:= build/host

CROSS	?= i686-linux-gnu-
CC	:= $(CROSS)gcc
LD	:= $(CROSS)ld
AR	:= $(CROSS)ar
OBJDUMP	:= $(CROSS)objdump
NASM	:= nasm
HOSTCC	?= gcc
QEMU	?= qemu-system-i386
PYTHON	?= python3
# Debian's python3, the one python3-matplotlib (make deps-bench) installs for.
BENCH_PYTHON ?= $(if $(wildcard /usr/bin/python3),/usr/bin/python3,$(PYTHON))

SWITCHER_BASE := $(if $(filter 1,$(PAE)),0xffe00000,0xffc00000)

CFLAGS	:= -std=gnu11 -m32 -march=i686 -O2 -g -ffreestanding -fno-pic -fno-pie \
	   -fno-stack-protector -fno-omit-frame-pointer -fno-strict-aliasing \
	   -mno-sse -mno-mmx -mno-80387 -mgeneral-regs-only \
	   -Wall -Wextra -Werror -Wno-unused-parameter -MMD -MP -DUMBRA_PAE=$(PAE)
NASMFLAGS := -f elf32 -g -DUMBRA_PAE=$(PAE) -I$(B)/gen/ -Werror
LDFLAGS	:= -m elf_i386 -nostdlib -z noexecstack --no-warn-rwx-segments
GUEST_CFLAGS := $(CFLAGS) -Iguest-abi/include
# Asked of the compiler when a recipe runs, once it is installed.
LIBGCC	 = $(shell $(CC) -m32 -print-libgcc-file-name)

HV_SRCS	:= $(wildcard boot/*.asm arch/x86/*.asm arch/x86/*.c mm/*.c hypervisor/*.c lib/*.c)
HV_OBJS	:= $(patsubst %,$(B)/hv/%.o,$(HV_SRCS))
RT_SRCS	:= $(wildcard guest-abi/runtime/*.asm guest-abi/runtime/*.c lib/*.c)
RT_OBJS	:= $(patsubst %,$(B)/rt/%.o,$(RT_SRCS))
# penumbra has a build of its own (guests/penumbra/penumbra.mk).
GUEST_DIRS := $(filter-out guests/penumbra/,$(wildcard guests/*/)) $(wildcard tests/guests/*/)
GUEST_OBJS := $(patsubst %,$(B)/g/%.o,$(filter-out guests/penumbra/%,$(wildcard guests/*/*.c)) \
	      $(wildcard tests/guests/*/*.c))
GUEST_ELFS := $(foreach d,$(GUEST_DIRS),$(B)/$(patsubst %/,%,$(dir $(d:/=)))/$(notdir $(d:/=)).elf)

V	?= 0
Q	:= $(if $(filter 1,$(V)),,@)
say	= $(if $(filter 1,$(V)),,@printf '  %-6s %s\n' $(1) $(2))

.PHONY: all iso run boot test test-host test-boot test-bochs test-hardware debug fuzz fuzz-guest clean help \
	deps deps-build deps-iso deps-boot deps-host deps-bochs bench deps-bench
all: $(B)/umbra.elf $(GUEST_ELFS)

help:
	@echo "make [PAE=1]      build the hypervisor and guests (2-level, or PAE)"
	@echo "make iso [PAE=1]  build $(B)/umbra.iso (GRUB, the demo) and umbra-scripted.iso (unattended)"
	@echo "make run [PAE=1]  boot the ISO in QEMU, serial console here"
	@echo "make boot [PAE=1] GUESTS=\"file.elf name=a mem=32M ...\" [BOOTFLAGS=...]"
	@echo "                  boot guests with tools/umbra-boot (see its --help)"
	@echo "make test         host-side unit tests, then boot tests, both formats"
	@echo "make test-host    host-side unit tests only"
	@echo "make test-boot    boot tests only, both formats"
	@echo "make test-bochs   the boot tests that need segment limits, under Bochs"
	@echo "make test-hardware"
	@echo "                  boot on many machines: BIOS and UEFI, pc and q35, CD, disk and"
	@echo "                  USB stick, memory sizes, CPU models, Bochs (tests/hardware.py)"
	@echo "make bench        penumbra's bench PV and native, both formats: tables, build/bench/"
	@echo "make fuzz         fuzz the shadow page tables, FUZZ_TIME s per format (300)"
	@echo "make fuzz-guest   the in-guest ABI fuzzer, FUZZ_OPS ops per format (10000000),"
	@echo "                  FUZZ_SEED (1), FUZZ_MODE (mixed, ring1, fatal), FUZZ_SKIP"
	@echo "make debug        QEMU halted with its gdb stub; prints the gdb command"
	@echo "make deps         install every Debian package the targets need (but deps-bench)"
	@echo "make clean        remove build/"

# --- the packages each target needs (tools/deps.sh says which) ---------------

deps:
	@sh tools/deps.sh
deps-build:
	@sh tools/deps.sh build
deps-iso:
	@sh tools/deps.sh iso
deps-boot:
	@sh tools/deps.sh boot
deps-host:
	@sh tools/deps.sh host
deps-bochs:
	@sh tools/deps.sh bochs
deps-bench:
	@sh tools/deps.sh bench

# The tools and flags that build $(B). The file changes only when they do,
# and every object and link depends on it.
$(B)/toolchain: FORCE | deps-build
	@mkdir -p $(@D)
	@{ for t in $(CC) $(LD) $(AR) $(OBJDUMP) $(NASM); do \
		command -v $$t >/dev/null || { echo "umbra: $$t not found" >&2; exit 1; }; \
		echo "$$(command -v $$t): $$($$t --version | head -n 1)"; \
	   done; \
	   echo "CFLAGS $(CFLAGS)"; echo "GUEST_CFLAGS $(GUEST_CFLAGS)"; \
	   echo "NASMFLAGS $(NASMFLAGS)"; echo "LDFLAGS $(LDFLAGS)"; \
	   echo "LIBGCC $(LIBGCC)"; echo "SWITCHER_BASE $(SWITCHER_BASE)"; } > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi
FORCE:

# --- the hypervisor ---------------------------------------------------------

$(B)/gen/switcher_layout.inc: arch/x86/switcher_layout.h
	@mkdir -p $(@D)
	$(Q)sed -n -e 's/^#\(if\|else\|endif\|define\)/%\1/p' $< > $@

$(B)/hv/%.asm.o: %.asm $(B)/gen/switcher_layout.inc $(B)/toolchain
	@mkdir -p $(@D)
	$(call say,NASM,$@)
	$(Q)$(NASM) $(NASMFLAGS) -MD $(@:.o=.d) -o $@ $<

$(B)/hv/%.c.o: %.c $(B)/toolchain
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# The CPU check runs first, on whatever CPU booted, so it alone is built for
# the i386, and its object is refused if it holds any later instruction
# (cpuid it uses only once EFLAGS.ID has shown that the CPU has it).
I686_INSNS := cmov|fcmov|rdtsc|cmpxchg|xadd|bswap|invlpg|wbinvd|rdmsr|wrmsr|sysenter|sysexit|fxsave|fxrstor|nopw|nopl|ud2|fcomi|fucomi|%x?mm|endbr
$(B)/hv/arch/x86/cpu_check.c.o: arch/x86/cpu_check.c $(B)/toolchain
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(filter-out -march=%,$(CFLAGS)) -march=i386 -MT $@ -MF $(@:.o=.d) -c -o $@.new $<
	$(Q)if $(OBJDUMP) -d $@.new | grep -E '\s($(I686_INSNS))'; then \
		echo "umbra: $@: instructions a 386 does not have (above)" >&2; rm -f $@.new; exit 1; fi
	$(Q)mv $@.new $@

$(B)/umbra.elf: $(HV_OBJS) linker.ld $(B)/toolchain
	$(call say,LD,$@)
	$(Q)$(LD) $(LDFLAGS) -T linker.ld --defsym=SWITCHER_BASE=$(SWITCHER_BASE) -o $@ $(HV_OBJS) $(LIBGCC)

# --- the guest runtime and guests -------------------------------------------

$(B)/rt/%.asm.o: %.asm $(B)/toolchain
	@mkdir -p $(@D)
	$(call say,NASM,$@)
	$(Q)$(NASM) $(NASMFLAGS) -MD $(@:.o=.d) -o $@ $<

$(B)/rt/%.c.o: %.c $(B)/toolchain
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(GUEST_CFLAGS) -c -o $@ $<

$(B)/libumbra.a: $(RT_OBJS) $(B)/toolchain
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $(RT_OBJS)

$(B)/g/%.c.o: %.c $(B)/toolchain
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(GUEST_CFLAGS) -c -o $@ $<

# Keep the guests' objects, which make reaches only through the pattern below.
.SECONDARY: $(GUEST_OBJS)
.SECONDEXPANSION:
$(B)/%.elf: $$(addprefix $(B)/g/,$$(addsuffix .o,$$(wildcard $$*/*.c))) \
	    $(B)/libumbra.a guest-abi/guest.ld $(B)/toolchain
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(LD) $(LDFLAGS) -T guest-abi/guest.ld -o $@ $(filter %.o,$^) $(B)/libumbra.a $(LIBGCC)

# --- the ISO ----------------------------------------------------------------

# umbra.iso boots for a person at the console (iso/grub.cfg); umbra-scripted.iso
# runs the same guests unattended (iso/grub-scripted.cfg), for make run in CI.
# Both are hybrid images: a CD or a disk (a USB stick), booted by a BIOS
# (GRUB i386-pc) or by UEFI firmware, x86-64 or IA-32 (GRUB x86_64-efi,
# i386-efi); tools/check-iso makes sure all of that is in.
ISO_GUESTS := $(B)/guests/hello.elf $(B)/guests/penumbra.elf
iso: $(B)/umbra.iso $(B)/umbra-scripted.iso
$(B)/umbra.iso: iso/grub.cfg
$(B)/umbra-scripted.iso: iso/grub-scripted.cfg
$(B)/umbra.iso $(B)/umbra-scripted.iso: $(B)/umbra.elf $(ISO_GUESTS) | deps-iso
	$(call say,ISO,$@)
	@rm -rf $(@:.iso=.isodir) && mkdir -p $(@:.iso=.isodir)/boot/grub
	$(Q)cp $(B)/umbra.elf $(ISO_GUESTS) $(@:.iso=.isodir)/boot/
	$(Q)cp $(filter %.cfg,$^) $(@:.iso=.isodir)/boot/grub/grub.cfg
	$(Q)grub-mkrescue -o $@ $(@:.iso=.isodir) 2>$(@:.iso=.log) || \
		{ cat $(@:.iso=.log); exit 1; }
	$(Q)sh tools/check-iso $@ || { rm -f $@; exit 1; }

# --- running ----------------------------------------------------------------

QEMU_FLAGS := -m 256M -display none -no-reboot -serial stdio -icount shift=0,sleep=off \
	      -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	      $(if $(filter kvm,$(UMBRA_ACCEL)),-accel kvm -cpu host,-accel tcg)

# At a terminal, the guests' shells; Ctrl-C goes to the guest (signal=off).
# Without one (CI), the scripted sessions, which end by themselves.
run: iso | deps-boot
	@if [ -t 0 ]; then iso=$(B)/umbra.iso; serial="-chardev stdio,id=con,signal=off -serial chardev:con"; \
		echo "umbra: booting $$iso in QEMU: two penumbra shells and a hello guest"; \
		echo "umbra: Ctrl-A three times moves the console to the next guest; poweroff in each shell ends the run"; \
	else iso=$(B)/umbra-scripted.iso; serial="-serial stdio"; \
		echo "umbra: booting $$iso in QEMU (no terminal: the guests run scripted sessions)"; fi; \
	$(QEMU) $(filter-out -serial stdio,$(QEMU_FLAGS)) $$serial -cdrom $$iso; s=$$?; \
		if [ $$s -eq 33 ]; then echo "umbra: run succeeded"; exit 0; \
		else echo "umbra: run failed (QEMU status $$s)"; exit 1; fi

# GUESTS is a list of guest files, each followed by its module options.
boot: all | deps-boot
	@$(PYTHON) tools/umbra-boot --format $(FMT) --hypervisor $(B)/umbra.elf $(BOOTFLAGS) $(GUESTS)

debug: all | deps-boot
	@echo "In another terminal:"
	@echo "  gdb -ex 'target remote :1234' -ex 'symbol-file $(B)/umbra.elf' \\"
	@echo "      -ex 'add-symbol-file $(B)/guests/hello.elf'"
	$(QEMU) $(QEMU_FLAGS) -s -S -kernel $(B)/umbra.elf \
		-initrd "$(B)/guests/hello.elf name=hello mem=16M"

# --- tests ------------------------------------------------------------------

# -Wno-format: on x86_64 u64 is unsigned long, so the target's correct
# "%llx" of a u64 warns here; the i386 build checks formats for real.
HOST_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format \
	       -fsanitize=address,undefined -fno-sanitize-recover=all \
	       -DUMBRA_HOSTED -DUMBRA_PAE=0 -I. -Iguest-abi/include
HOST_TESTS := $(patsubst tests/host/%.c,$(HB)/%,$(wildcard tests/host/test_*.c))
HOST_LIB_SRCS := mm/frame.c mm/pt.c hypervisor/cmdline.c hypervisor/display.c \
		 hypervisor/elf.c tests/host/hosted.c

HOST_DEPS := $(HOST_LIB_SRCS) tests/host/check.h $(HB)/toolchain \
	     $(wildcard mm/*.h lib/*.h hypervisor/*.h guest-abi/include/umbra/*.h)

$(HB)/%: tests/host/%.c $(HOST_DEPS)
	@mkdir -p $(@D)
	$(call say,HOSTCC,$@)
	$(Q)$(HOSTCC) $(HOST_CFLAGS) -o $@ $< $(HOST_LIB_SRCS)
# These include the file they test.
$(HB)/test_acpi: hypervisor/acpi.c
$(HB)/test_format: lib/format.c

# The shadow page tables over simulated RAM (tests/host/sim_*.c), one
# binary per paging format: a seeded random test, and a fuzzer that
# tests/run.py runs briefly and `make fuzz` at length. The fuzzer is
# clang's libFuzzer if clang has it, else a driver feeding random inputs.
SHADOW_SRCS := tests/host/sim_machine.c tests/host/sim_model.c tests/host/sim_check.c \
	       tests/host/sim_guest.c tests/host/sim_access.c tests/host/sim_range.c \
	       tests/host/sim_hostile.c tests/host/sim_run.c hypervisor/shadow.c hypervisor/shadow_audit.c hypervisor/guest_pt.c hypervisor/guest.c \
	       hypervisor/guest_mem.c mm/frame.c mm/pt.c tests/host/hosted.c
SHADOW_DEPS := $(SHADOW_SRCS) $(wildcard tests/host/*.h) $(HB)/toolchain \
	       $(wildcard hypervisor/*.h mm/*.h arch/x86/*.h lib/*.h guest-abi/include/umbra/*.h)
SHADOW_TESTS := $(HB)/test_shadow_2level $(HB)/test_shadow_pae
FUZZ_TESTS := $(HB)/test_fuzz_shadow_2level $(HB)/test_fuzz_shadow_pae
HOST_TESTS := $(filter-out $(HB)/test_shadow,$(HOST_TESTS)) $(SHADOW_TESTS) $(FUZZ_TESTS)
fmt_pae	= $(if $(filter pae,$(1)),1,0)
FUZZCC	?= clang
FUZZ_TIME ?= 300
FUZZ_CFLAGS := $(filter-out -fsanitize=% -DUMBRA_PAE=%,$(HOST_CFLAGS)) -fsanitize=fuzzer,address,undefined
HAVE_LIBFUZZER = $(shell printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' | \
		 $(FUZZCC) -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null && echo yes)

$(SHADOW_TESTS): $(HB)/test_shadow_%: tests/host/test_shadow.c $(SHADOW_DEPS)
	@mkdir -p $(@D)
	$(call say,HOSTCC,$@)
	$(Q)$(HOSTCC) $(filter-out -DUMBRA_PAE=%,$(HOST_CFLAGS)) -DUMBRA_PAE=$(call fmt_pae,$*) \
		-o $@ $< $(SHADOW_SRCS)

$(FUZZ_TESTS): $(HB)/test_fuzz_shadow_%: tests/host/fuzz_shadow.c $(SHADOW_DEPS)
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)
	$(Q)$(if $(filter yes,$(HAVE_LIBFUZZER)), \
		$(FUZZCC) $(FUZZ_CFLAGS), \
		$(HOSTCC) $(filter-out -DUMBRA_PAE=%,$(HOST_CFLAGS)) -DFUZZ_STANDALONE) \
		-DUMBRA_PAE=$(call fmt_pae,$*) -o $@ $< $(SHADOW_SRCS)

# The host compilers and their flags, as $(B)/toolchain is for the target.
$(HB)/toolchain: FORCE | deps-host
	@mkdir -p $(@D)
	@{ for t in $(HOSTCC) $(FUZZCC); do \
		command -v $$t >/dev/null || { echo "umbra: $$t not found" >&2; exit 1; }; \
		echo "$$(command -v $$t): $$($$t --version | head -n 1)"; \
	   done; \
	   echo "HOST_CFLAGS $(HOST_CFLAGS)"; echo "FUZZ_CFLAGS $(FUZZ_CFLAGS)"; \
	   echo "libFuzzer: $(or $(HAVE_LIBFUZZER),no)"; } > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

fuzz: $(FUZZ_TESTS)
	@for f in 2level pae; do \
		mkdir -p $(HB)/fuzz-corpus-$$f; \
		echo "umbra: fuzzing the $$f shadow code for $(FUZZ_TIME) s"; \
		$(HB)/test_fuzz_shadow_$$f -max_total_time=$(FUZZ_TIME) -max_len=2048 -len_control=0 \
			-artifact_prefix=$(HB)/fuzz-crash-$$f- $(HB)/fuzz-corpus-$$f || exit 1; \
	done

# The in-guest fuzzer (tests/guests/hcfuzz) at length, in both formats.
FUZZ_OPS ?= 10000000
FUZZ_SEED ?= 1
FUZZ_MODE ?= mixed
FUZZ_SKIP ?=
fuzz-guest: | deps-build deps-boot
	$(MAKE) PAE=0 all
	$(MAKE) PAE=1 all
	$(PYTHON) tests/fuzz_guest.py --ops $(FUZZ_OPS) --seed $(FUZZ_SEED) --mode $(FUZZ_MODE) \
		$(if $(FUZZ_SKIP),--skip $(FUZZ_SKIP))

test-host: $(HOST_TESTS)
	@for t in $(HOST_TESTS); do $$t || exit 1; done

# The boot tests need both formats; PAE picks one build directory per make.
test: | deps
	$(MAKE) PAE=0 all iso
	$(MAKE) PAE=1 all iso
	$(MAKE) $(HOST_TESTS)
	$(PYTHON) tests/run.py

test-boot: | deps-build deps-iso deps-boot
	$(MAKE) PAE=0 all iso
	$(MAKE) PAE=1 all iso
	$(PYTHON) tests/run.py --no-host

# Bochs enforces segment limits, QEMU's TCG does not (make test runs these too).
test-bochs: | deps-build deps-iso deps-boot deps-bochs
	$(MAKE) PAE=0 all
	$(MAKE) PAE=1 all
	$(PYTHON) tests/run.py --no-host --bochs-only

# The machine matrix of tests/hardware.py, a few minutes: one line per machine there.
test-hardware: | deps-build deps-iso deps-boot deps-bochs
	$(MAKE) PAE=0 all iso
	$(MAKE) PAE=1 all iso
	$(PYTHON) tests/hardware.py

# Instructions and modelled cycles per operation (perf/costs.md), PV against native.
bench: | deps-build deps-boot deps-bench
	$(MAKE) PAE=0 all
	$(MAKE) PAE=1 all
	$(BENCH_PYTHON) tools/bench.py --out build/bench

clean:
	rm -rf build

include guests/penumbra/penumbra.mk

-include $(shell find build -name '*.d' 2>/dev/null)
