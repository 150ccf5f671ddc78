#include "kernel.h"
#include "frame.h"
#include "machine.h"

static uint32_t free_head;		/* physical address of the first free frame */
static uint32_t nfree, ntotal, nreserved;
static uint32_t first_pfn, end_pfn;
static uint16_t *refs;			/* per frame from first_pfn */

static uint32_t *link_of(uint32_t pa)
{
	return P2V(pa);
}

static void push_free(uint32_t pa)
{
	*link_of(pa) = free_head;
	free_head = pa;
	nfree++;
}

void frame_init(uint32_t start, uint32_t end)
{
	uint32_t nframes = (end - start) / PAGE_SIZE;
	uint32_t table = ALIGN_UP(nframes * (uint32_t)sizeof(*refs), PAGE_SIZE);

	refs = P2V(start);
	memset(refs, 0, table);
	start += table;
	first_pfn = start / PAGE_SIZE;
	end_pfn = end / PAGE_SIZE;
	refs -= first_pfn;
	for (uint32_t pfn = end_pfn; pfn-- > first_pfn;)
		push_free(pfn * PAGE_SIZE);
	ntotal = nfree;
}

/* Frames zeroed so far, for counters(). */
static uint64_t nzeroed;

uint64_t frame_zeroed(void)
{
	return nzeroed;
}

static uint32_t take(void)
{
	uint32_t pa = free_head;

	if (!pa)
		return 0;
	free_head = *link_of(pa);
	nfree--;
	refs[pa / PAGE_SIZE] = 1;
	memset(P2V(pa), 0, PAGE_SIZE);
	nzeroed++;
	return pa;
}

uint32_t frame_alloc(void)
{
	return nfree > nreserved ? take() : 0;
}

uint32_t frame_alloc_reserved(void)
{
	if (!nreserved)
		panic("frame: reserve empty");
	nreserved--;
	return take();
}

static bool ours(uint32_t pa)
{
	return pa / PAGE_SIZE >= first_pfn && pa / PAGE_SIZE < end_pfn;
}

void frame_get(uint32_t pa)
{
	if (!ours(pa) || !refs[pa / PAGE_SIZE])
		panic("frame_get: 0x%x is not in use", pa);
	refs[pa / PAGE_SIZE]++;
}

void frame_put(uint32_t pa)
{
	if (!ours(pa) || !refs[pa / PAGE_SIZE])
		panic("frame_put: 0x%x is not in use", pa);
	if (--refs[pa / PAGE_SIZE] == 0)
		push_free(pa);
}

unsigned frame_refs(uint32_t pa)
{
	return ours(pa) ? refs[pa / PAGE_SIZE] : 0;
}

bool frame_reserve(uint32_t n)
{
	if (nfree - nreserved < n)
		return false;
	nreserved += n;
	return true;
}

void frame_unreserve(uint32_t n)
{
	if (n > nreserved)
		panic("frame_unreserve: %u of %u", n, nreserved);
	nreserved -= n;
}

uint32_t frame_free_count(void)
{
	return nfree - nreserved;
}

uint32_t frame_total(void)
{
	return ntotal;
}

uint32_t frame_reserved(void)
{
	return nreserved;
}
