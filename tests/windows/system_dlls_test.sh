#!/usr/bin/env bash
# Every program of the Windows build needs only DLLs that come with Windows: OpenSSL, zlib,
# libgcc and winpthreads are linked in statically (wintun.dll is loaded at run time, not
# imported). Usage: system_dlls_test.sh OBJDUMP EXE...
set -euo pipefail

objdump=$1
shift
[ "$#" -gt 0 ] || { echo "FAIL: no programs given" >&2; exit 1; }
allowed=" kernel32.dll advapi32.dll user32.dll ws2_32.dll msvcrt.dll bcrypt.dll crypt32.dll iphlpapi.dll "
bad=0
for exe in "$@"; do
    [ -f "$exe" ] || { echo "FAIL: $exe not built" >&2; exit 1; }
    dlls=$("$objdump" -p "$exe" | awk '/DLL Name:/ {print tolower($3)}' | sort -u)
    [ -n "$dlls" ] || { echo "FAIL: $exe imports no DLL (not a PE program?)" >&2; exit 1; }
    for dll in $dlls; do
        case "$dll" in
        api-ms-win-*) continue ;; # API sets: Windows 8 and later resolve them to system DLLs
        esac
        case "$allowed" in
        *" $dll "*) ;;
        *)
            echo "FAIL: $(basename "$exe") needs $dll, which Windows does not ship" >&2
            bad=1
            ;;
        esac
    done
    echo "$(basename "$exe"): $(echo $dlls)"
done
[ "$bad" -eq 0 ] || exit 1
echo "PASS"
