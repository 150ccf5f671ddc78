#!/bin/sh
# Install the Debian packages that umbra's make targets need, and only the
# missing ones, so that every target can be the first command on a fresh
# Debian machine. The Makefile calls this before building: the compiler the
# build uses must exist before make runs it.
#
# Usage: tools/deps.sh [GROUP...], with no group meaning all of them:
#   build  the hypervisor and guests: nasm, the i686 cross compiler and binutils,
#          python3 (penumbra's archive)
#   iso    the GRUB rescue ISO: grub-mkrescue with its BIOS and UEFI (x86-64 and IA-32)
#          files, xorriso, mtools
#   boot   booting in QEMU: qemu-system-i386 (and x86_64, for 64-bit UEFI), OVMF's
#          UEFI firmware (x86-64 and IA-32), and python3 for tools/umbra-boot and tests
#   host   the host-side tests and fuzzer: gcc, clang with libFuzzer's runtime
#   bochs  Bochs 2.7, which checks segment limits (QEMU's TCG does not), with its
#          BIOS images and the terminal display (Debian's Bochs has no "nogui")
#   bench  make bench's chart: python3-matplotlib (not part of the default set)
# It uses apt-get, as root or through sudo, and runs `apt-get update` only
# when the package lists do not know a package yet.
set -e
# Parallel make jobs may each call this: one at a time, and each sees what
# the one before it installed.
if command -v flock >/dev/null 2>&1; then
	exec 9<"$0"
	flock 9
fi
need=""
check() { command -v "$1" >/dev/null 2>&1 || need="$need $2"; }

group_build() {
	check nasm nasm
	check i686-linux-gnu-gcc gcc-i686-linux-gnu
	check i686-linux-gnu-ld binutils-i686-linux-gnu
	check python3 python3	# packs penumbra's file archive
}
group_iso() {
	check grub-mkrescue grub-common
	[ -d /usr/lib/grub/i386-pc ] || need="$need grub-pc-bin"
	[ -d /usr/lib/grub/x86_64-efi ] || need="$need grub-efi-amd64-bin"
	[ -d /usr/lib/grub/i386-efi ] || need="$need grub-efi-ia32-bin"
	check xorriso xorriso
	check mformat mtools
}
group_boot() {
	check qemu-system-i386 qemu-system-x86
	check qemu-system-x86_64 qemu-system-x86
	# tools/umbraboot/qemu.py's FIRMWARE names these files.
	[ -e /usr/share/OVMF/OVMF_CODE_4M.fd ] || need="$need ovmf"
	[ -e /usr/share/OVMF/OVMF32_CODE_4M.secboot.fd ] || need="$need ovmf-ia32"
	check python3 python3
}
group_bochs() {
	check bochs bochs
	[ -e /usr/share/bochs/BIOS-bochs-latest ] || need="$need bochsbios"
	[ -e /usr/share/vgabios/vgabios.bin ] || need="$need vgabios"
	ls /usr/lib/*/bochs/plugins/libbx_term_gui.so >/dev/null 2>&1 || need="$need bochs-term"
}
group_bench() {
	# For Debian's python3 (the Makefile's BENCH_PYTHON), whatever python3 is first on PATH.
	[ -d /usr/lib/python3/dist-packages/matplotlib ] || need="$need python3-matplotlib"
}
group_host() {
	check gcc gcc
	check clang clang
	[ -e "$(clang -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.fuzzer-$(uname -m).a" ] ||
		need="$need libclang-rt-dev"
}

[ $# -gt 0 ] || set -- build iso boot host bochs
for group; do
	case $group in
	build|iso|boot|host|bochs|bench) group_$group ;;
	*) echo "tools/deps.sh: unknown group '$group' (build, iso, boot, host, bochs or bench)" >&2; exit 2 ;;
	esac
done
[ -z "$need" ] && exit 0

# The same package may be named by two groups.
need=$(printf '%s\n' $need | sort -u | tr '\n' ' ')
echo "umbra: installing Debian packages: $need"
if ! command -v apt-get >/dev/null 2>&1; then
	echo "umbra: apt-get not found; install these packages (or their equivalents) by hand" >&2
	exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "umbra: not root and no sudo to install with" >&2; exit 1; }
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# Wait for another package manager's lock rather than fail.
apt="$SUDO apt-get -o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends"
install() { $apt install $need >/dev/null; }
install 2>/dev/null || { $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && install; }
