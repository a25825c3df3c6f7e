/* floe-wg's command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wgd.h"

static const char wgd_usage[] =
    "usage: floe-wg [OPTIONS] IFNAME\n"
    "\n"
    "A userspace WireGuard interface. Creates the TUN device IFNAME (MTU 1420) and serves\n"
    "the WireGuard cross-platform configuration protocol on " WGD_SOCK_DIR "/IFNAME.sock,\n"
    "so that wg(8) configures and shows it and wg-quick(8) can use it\n"
    "(WG_QUICK_USERSPACE_IMPLEMENTATION=floe-wg). Addresses, routes and the link state\n"
    "are set with ip(8) as for any interface.\n"
    "\n"
    "Options:\n"
    "  -f, --foreground          stay in the foreground (default: detach once the\n"
    "                            interface and its socket exist)\n"
    "  --log-file PATH           append JSON Lines logs to PATH (SIGHUP reopens it);\n"
    "                            default stderr, which is /dev/null once detached\n"
    "  --log-level LEVEL         trace, debug, info (default), warn, error, off\n"
    "  --no-offload              plain TUN and UDP: no virtio-net header, TSO, UDP GSO/GRO\n"
    "  --threads N               encrypt and decrypt on N threads, the loop's included\n"
    "                            (1-64; default: one per online CPU); 1: no workers\n"
    "  -h, --help                this text\n"
    "  --version                 the version\n"
    "\n"
    "Environment:\n"
    "  WG_PROCESS_FOREGROUND=1   same as --foreground\n"
    "  FLOE_WG_TEST_CLOCK_RATE=N for tests only: the protocol's clock runs N times as\n"
    "                            fast (1-1000), so REKEY_AFTER_TIME comes after 120/N s\n"
    "\n"
    "Signals: SIGTERM or SIGINT remove the interface and its socket and exit; SIGHUP\n"
    "reopens the log file; SIGUSR1 logs the drop counters per reason (\"stats\", info\n"
    "level; also logged at exit). Deleting the interface (ip link del IFNAME) also stops it.\n"
    "\n"
    "Exit status: 0 stopped cleanly (or detached), 1 could not start or failed while\n"
    "running, 2 bad command line.\n";

enum wgd_opt {
    OPT_LOG_FILE = 256,
    OPT_LOG_LEVEL,
    OPT_NO_OFFLOAD,
    OPT_THREADS,
    OPT_VERSION,
};

static const struct option wgd_options[] = {
    {"foreground", no_argument, NULL, 'f'},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"no-offload", no_argument, NULL, OPT_NO_OFFLOAD},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* An interface name the kernel accepts: 1..15 bytes, no '/', no whitespace, not . or .. */
static bool wgd_ifname_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    return strpbrk(s, "/: \t\n") == NULL;
}

/* --threads N: 1..WGD_MAX_THREADS. Returns 0 or -1 (err filled). */
static int wgd_threads(const char *s, struct wgd_opts *o, char *err, size_t cap)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno == 0 && end != s && *end == '\0' && *s != '-' && v >= 1 && v <= WGD_MAX_THREADS) {
        o->threads = (unsigned)v;
        return 0;
    }
    snprintf(err, cap, "bad --threads '%s' (1 to %d)", s, WGD_MAX_THREADS);
    return -1;
}

/* One option; returns 0, 1 (help/version printed) or -1 (err filled). */
static int wgd_opt(int c, struct wgd_opts *o, const char *arg, char *err, size_t cap)
{
    switch (c) {
    case 'f':
        o->foreground = true;
        return 0;
    case OPT_LOG_FILE:
        o->log_file = optarg;
        return 0;
    case OPT_LOG_LEVEL:
        if (floe_log_level_parse(optarg, &o->log_level) == 0)
            return 0;
        snprintf(err, cap, "bad --log-level '%s' (trace, debug, info, warn, error, off)", optarg);
        return -1;
    case OPT_NO_OFFLOAD:
        o->no_offload = true;
        return 0;
    case OPT_THREADS:
        return wgd_threads(optarg, o, err, cap);
    case 'h':
        fputs(wgd_usage, stdout);
        return 1;
    case OPT_VERSION:
        puts("floe-wg " FLOE_VERSION_STRING);
        return 1;
    default:
        snprintf(err, cap, "unknown option or missing argument: '%s'", arg);
        return -1;
    }
}

/* FLOE_WG_TEST_CLOCK_RATE: unset is 1; otherwise 1..WGD_MAX_CLOCK_RATE. */
static int wgd_clock_rate(struct wgd_opts *o, char *err, size_t cap)
{
    const char *v = getenv("FLOE_WG_TEST_CLOCK_RATE");
    char *end;
    unsigned long n;

    o->clock_rate = 1;
    if (!v)
        return 0;
    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno || end == v || *end || *v == '-' || n < 1 || n > WGD_MAX_CLOCK_RATE) {
        snprintf(err, cap, "bad FLOE_WG_TEST_CLOCK_RATE '%s' (1 to %d)", v, WGD_MAX_CLOCK_RATE);
        return -1;
    }
    o->clock_rate = (unsigned)n;
    return 0;
}

int wgd_parse_args(int argc, char **argv, struct wgd_opts *o, char *err, size_t cap)
{
    const char *fg = getenv("WG_PROCESS_FOREGROUND");
    int c, rc;

    memset(o, 0, sizeof(*o));
    o->log_level = FLOE_LOG_INFO;
    o->foreground = fg && strcmp(fg, "1") == 0;
    if (wgd_clock_rate(o, err, cap) != 0)
        return -1;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+fh", wgd_options, NULL)) != -1) {
        rc = wgd_opt(c, o, argv[optind - 1], err, cap);
        if (rc != 0)
            return rc;
    }
    if (optind == argc) {
        snprintf(err, cap, "missing IFNAME");
        return -1;
    }
    if (optind != argc - 1) {
        snprintf(err, cap, "unexpected argument '%s'", argv[optind + 1]);
        return -1;
    }
    if (!wgd_ifname_ok(argv[optind])) {
        snprintf(err, cap, "bad interface name '%s' (1 to %d characters, no '/', ':' or spaces)",
                 argv[optind], IFNAMSIZ - 1);
        return -1;
    }
    snprintf(o->ifname, sizeof(o->ifname), "%s", argv[optind]);
    return 0;
}
