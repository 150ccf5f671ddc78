#!/bin/sh
# Install the Debian packages umbra needs, if any tool is missing.
# `tools/deps.sh bochs` also installs Bochs, for make test-bochs.
set -e
need=""
check() { command -v "$1" >/dev/null 2>&1 || need="$need $2"; }
check nasm nasm
check i686-linux-gnu-gcc gcc-i686-linux-gnu
check i686-linux-gnu-ld binutils-i686-linux-gnu
check grub-mkrescue grub-common
[ -d /usr/lib/grub/i386-pc ] || need="$need grub-pc-bin"
check xorriso xorriso
check mformat mtools
check qemu-system-i386 qemu-system-x86
check gcc gcc
check python3 python3
# The shadow fuzzer (make fuzz): clang with libFuzzer's runtime.
check clang clang
[ -e "$(clang -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.fuzzer-$(uname -m).a" ] ||
	need="$need libclang-rt-dev"
# Bochs checks segment limits, which QEMU's TCG does not (make test-bochs);
# Debian's Bochs has no "nogui" display, so the terminal one stands in.
if [ "$1" = bochs ]; then
	check bochs bochs
	[ -e /usr/share/bochs/BIOS-bochs-latest ] || need="$need bochsbios"
	[ -e /usr/share/vgabios/vgabios.bin ] || need="$need vgabios"
	ls /usr/lib/*/bochs/plugins/libbx_term_gui.so >/dev/null 2>&1 || need="$need bochs-term"
fi
[ -z "$need" ] && exit 0
echo "umbra: installing Debian packages:$need"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
