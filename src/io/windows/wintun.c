/*
 * Loading wintun.dll at run time: from the program's directory (or System32), never from the
 * current directory or PATH, so that a planted DLL is not picked up; every function found by
 * GetProcAddress, or a message naming what is missing.
 */
#include <stdio.h>
#include <string.h>

#include "io_int.h"
#include "wintun.h"

/* The program's directory (UTF-8, with its trailing separator) into dir[0..cap). */
static void wintun_program_dir(char *dir, size_t cap)
{
    WCHAR path[MAX_PATH];
    DWORD n = GetModuleFileNameW(NULL, path, MAX_PATH);
    WCHAR *slash;

    dir[0] = 0;
    if (n == 0 || n >= MAX_PATH)
        return;
    slash = wcsrchr(path, L'\\');
    if (slash)
        slash[1] = 0;
    if (WideCharToMultiByte(CP_UTF8, 0, path, -1, dir, (int)cap, NULL, NULL) == 0)
        dir[0] = 0;
}

/*
 * GetProcAddress for one export, as void (*)(void): the function type that casts to any other
 * without -Wcast-function-type's complaint. "missing" gets its name when it is not there.
 */
static void (*wintun_proc(HMODULE dll, const char *name, const char **missing))(void)
{
    void (*fn)(void) = (void (*)(void))GetProcAddress(dll, name);

    if (!fn && !*missing)
        *missing = name;
    return fn;
}

int floe__wintun_load(struct floe__wintun *w, char *err, size_t cap)
{
    const char *missing = NULL;
    char dir[MAX_PATH * 3];
    DWORD code;

    memset(w, 0, sizeof(*w));
    w->dll = LoadLibraryExW(L"wintun.dll", NULL,
                            LOAD_LIBRARY_SEARCH_APPLICATION_DIR | LOAD_LIBRARY_SEARCH_SYSTEM32);
    if (!w->dll) {
        code = GetLastError();
        wintun_program_dir(dir, sizeof(dir));
        snprintf(err, cap,
                 "cannot load wintun.dll (Windows error %lu): put wintun.dll (x86_64, from "
                 "wintun.net) beside the program in %s",
                 (unsigned long)code, dir[0] ? dir : "its directory");
        SetLastError(code);
        return FLOE_ERR_UNSUPPORTED;
    }
#define FLOE__WINTUN_LOAD(member, type, name)                                                      \
    w->member = (type *)wintun_proc(w->dll, name, &missing);
    FLOE__WINTUN_FUNCS(FLOE__WINTUN_LOAD)
#undef FLOE__WINTUN_LOAD
    if (missing) {
        snprintf(err, cap, "wintun.dll has no function %s: a Wintun older than 0.14?", missing);
        floe__wintun_unload(w);
        SetLastError(ERROR_PROC_NOT_FOUND);
        return FLOE_ERR_UNSUPPORTED;
    }
    return 0;
}

void floe__wintun_unload(struct floe__wintun *w)
{
    if (w->dll)
        FreeLibrary(w->dll);
    memset(w, 0, sizeof(*w));
}
