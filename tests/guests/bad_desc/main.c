/*
 * Hostile: descriptors, stacks and requests the hypervisor must refuse.
 *
 * what= on the command line picks one. Every one but gate_reserved is a
 * request only a broken or hostile kernel makes, and must end this guest
 * with a reason on the console that names the call and the bad value; if
 * the guest is still running afterwards it says so with a FAIL line. When
 * the reason will name a value the test cannot know in advance (an
 * address, a descriptor), the guest prints it first for the test to match.
 *
 * gate_reserved asks for the vectors that are never the guest's (NMI,
 * double fault, machine check, the hypercall vector): those are refused
 * with UMBRA_EINVAL and the guest goes on.
 */
#include <umbra/kernel.h>

#define GATE_VECTOR	6		/* #UD: any vector the guest may own */
#define GATE_TASK	0x5
#define HV_CS		0x08		/* the hypervisor's code segment */

/* Segment descriptor access byte and flags (Intel SDM vol. 3, 3.4.5). */
#define SEG_RW		0x02
#define SEG_DOWN	0x04		/* data: expand-down; code: conforming */
#define SEG_CODE	0x08
#define SEG_S		0x10
#define SEG_DPL(n)	((n) << 5)
#define SEG_P		0x80
#define SYS_TSS		0x09
#define FLAG_DB		0x4
#define FLAG_G		0x8

/* Where the faults below happen: asm, so the eip is known. */
__asm__(".text\n"
	".globl do_ud2\n"
	"do_ud2:\n"
	"	ud2\n"
	".globl do_read\n"
	"do_read:\n"			/* uint32_t do_read(uint32_t addr) */
	"	movl 4(%esp), %eax\n"
	".globl do_read_at\n"
	"do_read_at:\n"
	"	movl (%eax), %eax\n"
	"	ret\n");
void do_ud2(void);
uint32_t do_read(uint32_t addr);
extern char do_read_at[];

static char stack[4096] __attribute__((aligned(4096)));
static uint32_t mem_bytes;

/* The handler the gates point at; none of them may ever be installed. */
void umbra_trap_handler(struct umbra_frame *f)
{
	umbra_fail("bad_desc", "vector %u reached a handler at eip 0x%x", f->vector, f->eip);
}

static uint64_t seg(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (limit & 0xffffull) | ((uint64_t)(base & 0xffffff) << 16) |
	       ((uint64_t)access << 40) | ((uint64_t)((limit >> 16) & 0xf) << 48) |
	       ((uint64_t)(flags & 0xf) << 52) | ((uint64_t)(base >> 24) << 56);
}

/* A small, otherwise good ring-3 data segment over the guest's image. */
#define TLS_BASE	0x100000u
#define TLS_LIMIT	0xfffu

static long set_tls(unsigned slot, uint64_t d)
{
	umbra_printf("set_tls(%u, 0x%llx)\n", slot, d);
	return umbra_set_tls(slot, d);
}

static long set_gate(unsigned vector, uint64_t gate)
{
	umbra_printf("set_trap(%u, 0x%llx)\n", vector, gate);
	return umbra_set_gate(vector, gate);
}

static uint64_t good_gate(unsigned vector)
{
	return umbra_gate(umbra_trap_stub(vector), UMBRA_GATE_INTR, 1);
}

/* Vectors that are never the guest's: refused, not fatal. */
static int gate_reserved(void)
{
	static const unsigned vectors[] = { 2, 8, 18, UMBRA_HCALL_VECTOR };
	int bad = 0;

	for (unsigned i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		long ret = umbra_set_gate(vectors[i], good_gate(vectors[i]));

		if (ret != UMBRA_EINVAL) {
			umbra_fail("gate_reserved", "vector %u: returned %ld, expected %d",
				   vectors[i], ret, UMBRA_EINVAL);
			bad = 1;
		}
	}
	if (!bad)
		umbra_pass("gate_reserved: vectors 2, 8, 18, 0x82 refused with EINVAL");
	/* Still a working guest: an ordinary gate is accepted, and removed again. */
	umbra_check(umbra_set_gate(GATE_VECTOR, good_gate(GATE_VECTOR)) == 0 &&
		    umbra_set_gate(GATE_VECTOR, 0) == 0, "gate_reserved: ordinary gate accepted");
	return bad;
}

static uint32_t stack_top(void)
{
	return (uint32_t)stack + sizeof(stack);
}

static void gate_type(void)
{
	set_gate(GATE_VECTOR, umbra_gate(umbra_trap_stub(GATE_VECTOR), GATE_TASK, 1));
}

static void gate_selector(void)
{
	uint64_t gate = good_gate(GATE_VECTOR) & ~(0xffffull << 16);

	set_gate(GATE_VECTOR, gate | (uint64_t)HV_CS << 16);
}

static void gate_dpl0(void)
{
	set_gate(GATE_VECTOR, umbra_gate(umbra_trap_stub(GATE_VECTOR), UMBRA_GATE_INTR, 0));
}

static void gate_vector(void)
{
	set_gate(300, good_gate(GATE_VECTOR));
}

static void stack_segment(void)
{
	umbra_hcall(UMBRA_HC_SET_STACK, 0x10, stack_top(), 1, 0);
}

static void stack_pages(void)
{
	umbra_set_stack(stack_top(), 3);
}

static void tls_dpl0(void)
{
	set_tls(0, seg(TLS_BASE, TLS_LIMIT, SEG_P | SEG_DPL(0) | SEG_S | SEG_RW, FLAG_DB));
}

static void tls_system(void)
{
	set_tls(0, seg(TLS_BASE, TLS_LIMIT, SEG_P | SEG_DPL(3) | SYS_TSS, 0));
}

static void tls_conforming(void)
{
	set_tls(0, seg(TLS_BASE, TLS_LIMIT,
		       SEG_P | SEG_DPL(3) | SEG_S | SEG_CODE | SEG_DOWN | SEG_RW, FLAG_DB));
}

static void tls_expand_down(void)
{
	set_tls(0, seg(TLS_BASE, TLS_LIMIT, SEG_P | SEG_DPL(3) | SEG_S | SEG_DOWN | SEG_RW, FLAG_DB));
}

/* Flat 4 GiB: through it ring 3 could reach the Switcher's pages. */
static void tls_switcher(void)
{
	set_tls(1, seg(0, 0xfffff, SEG_P | SEG_DPL(3) | SEG_S | SEG_RW, FLAG_DB | FLAG_G));
}

static void tls_slot(void)
{
	set_tls(5, seg(TLS_BASE, TLS_LIMIT, SEG_P | SEG_DPL(3) | SEG_S | SEG_RW, FLAG_DB));
}

static void no_handler(void)
{
	umbra_printf("ud2 at 0x%x\n", (uint32_t)do_ud2);
	do_ud2();
}

/* The first byte past the end of guest memory. */
static void pf_no_handler(void)
{
	umbra_printf("reading 0x%x at eip 0x%x\n", mem_bytes, (uint32_t)do_read_at);
	do_read(mem_bytes);
}

/* The local APIC's registers are mapped in the hypervisor's tables, never in a guest's. */
#define LAPIC_VERSION_REG	0xfee00030u

static void pf_apic(void)
{
	umbra_printf("reading 0x%x at eip 0x%x\n", LAPIC_VERSION_REG, (uint32_t)do_read_at);
	do_read(LAPIC_VERSION_REG);
}

static void shared_unaligned(void)
{
	uint32_t gpa = (uint32_t)&umbra_shared + 8;

	umbra_printf("set_shared(0x%x)\n", gpa);
	umbra_hcall(UMBRA_HC_SET_SHARED, gpa, 0, 0, 0);
}

/* With a shared page, so that the missing timer is the only thing wrong. */
static void halt_forever(void)
{
	umbra_shared_init(0, 0);
	umbra_halt();
}

static const struct {
	const char *what;
	void (*fn)(void);
} fatal[] = {
#define F(name) { #name, name }
	F(gate_type), F(gate_selector), F(gate_dpl0), F(gate_vector),
	F(stack_segment), F(stack_pages),
	F(tls_dpl0), F(tls_system), F(tls_conforming), F(tls_expand_down), F(tls_switcher),
	F(tls_slot),
	F(no_handler), F(pf_no_handler), F(pf_apic), F(shared_unaligned), F(halt_forever),
#undef F
};

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

int guest_main(const struct umbra_boot_info *bi)
{
	char what[32];

	if (!umbra_arg(bi, "what", what, sizeof(what))) {
		umbra_fail("bad_desc", "no what= on the command line");
		return 1;
	}
	mem_bytes = bi->mem_bytes;
	if (streq(what, "gate_reserved"))
		return gate_reserved();
	for (unsigned i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		if (streq(what, fatal[i].what)) {
			fatal[i].fn();
			umbra_fail("bad_desc", "still running after %s", what);
			return 1;
		}
	}
	umbra_fail("bad_desc", "unknown what=%s", what);
	return 1;
}
