# penumbra: a small Unix-like kernel, one core (guests/penumbra/*.c) on two
# machines chosen at link time: pv/ (ring 1 on umbra) and native/ (ring 0,
# a Multiboot kernel). User programs (user/) are packed into an archive that
# is linked into both kernels.

PN	:= guests/penumbra
PNB	:= $(B)/penumbra
OBJCOPY	:= $(CROSS)objcopy
PN_CFLAGS := $(GUEST_CFLAGS) -I$(PN)/include -fno-tree-loop-distribute-patterns
PN_OBJS	= $(patsubst %,$(PNB)/%.o,$(wildcard $(addprefix $(PN)/$(1),*.c *.asm)))
PN_CORE	:= $(call PN_OBJS,)
PN_PV	:= $(call PN_OBJS,pv/)
PN_NATIVE := $(call PN_OBJS,native/)
PN_PROGS := $(filter-out ulib,$(basename $(notdir $(wildcard $(PN)/user/*.c))))
PN_USER	:= $(addprefix $(PNB)/bin/,$(PN_PROGS))
PN_ULIB	:= $(PNB)/$(PN)/user/ulib.c.o

all: $(B)/guests/penumbra.elf $(B)/guests/penumbra-native.elf

$(PNB)/%.c.o: %.c $(B)/toolchain
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(PN_CFLAGS) -c -o $@ $<

$(PNB)/%.asm.o: %.asm $(B)/toolchain
	@mkdir -p $(@D)
	$(call say,NASM,$@)
	$(Q)$(NASM) $(NASMFLAGS) -MD $(@:.o=.d) -o $@ $<

$(PNB)/bin/%: $(PNB)/$(PN)/user/%.c.o $(PN_ULIB) $(PN)/user.ld $(B)/libumbra.a $(B)/toolchain
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(LD) $(LDFLAGS) -T $(PN)/user.ld -o $@ $< $(PN_ULIB) $(B)/libumbra.a $(LIBGCC)

# The archive: every program, a corrupt one for exec's error path, a text file.
$(PNB)/archive.bin: $(PN_USER) $(PN)/mkarchive.py $(PN)/motd | deps-build
	$(call say,PACK,$@)
	$(Q)$(PYTHON) $(PN)/mkarchive.py $@ $(foreach u,$(PN_USER),$(notdir $(u))=$(u)) \
		bad=corrupt:$(PNB)/bin/echo motd=$(PN)/motd

$(PNB)/archive.o: $(PNB)/archive.bin
	$(Q)cd $(PNB) && $(OBJCOPY) -I binary -O elf32-i386 -B i386 \
		--rename-section .data=.rodata,alloc,load,readonly,data,contents archive.bin archive.o

PN_LINK	= $(LD) $(LDFLAGS) -T $(PN)/kernel.ld -o $@ $(filter %.o,$^) $(B)/libumbra.a $(LIBGCC)

$(B)/guests/penumbra.elf: $(PN_CORE) $(PN_PV) $(PNB)/archive.o $(PN)/kernel.ld $(B)/libumbra.a \
			  $(B)/toolchain
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(PN_LINK)

$(B)/guests/penumbra-native.elf: $(PN_CORE) $(PN_NATIVE) $(PNB)/archive.o $(PN)/kernel.ld \
				 $(B)/libumbra.a $(B)/toolchain
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(PN_LINK)
