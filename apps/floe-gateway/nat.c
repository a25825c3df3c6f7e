/*
 * floe-gateway's nftables table and forwarding sysctls (nat.h).
 */
#define _GNU_SOURCE
#include "nat.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "floe/core.h"

extern char **environ;

#define NAT_TARGET "nat"

static const char *const nat_sysctls[] = {
    "/proc/sys/net/ipv4/ip_forward",
    "/proc/sys/net/ipv6/conf/all/forwarding",
};

bool floe_gw_ifname_is_valid(const char *name)
{
    size_t n;

    if (!name)
        return false;
    n = strlen(name);
    if (n < 1 || n > 15 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

int floe_gw_nat_table(const char *ifname, char *buf, size_t cap)
{
    int n;

    if (!floe_gw_ifname_is_valid(ifname) || !buf)
        return FLOE_ERR_INVALID_ARG;
    n = snprintf(buf, cap, "floe_gw_%s", ifname);
    if (n < 0 || (size_t)n >= cap)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    for (char *p = buf; *p; p++) {
        if (*p == '.' || *p == '-')
            *p = '_';
    }
    return n;
}

int floe_gw_nat_ruleset(const char *ifname, char *buf, size_t cap)
{
    char table[FLOE_GW_NAT_TABLE_MAX];
    int n;

    if (floe_gw_nat_table(ifname, table, sizeof(table)) < 0 || !buf)
        return FLOE_ERR_INVALID_ARG;
    /* "table" then "delete table": a stale table from a crashed run goes, in one transaction */
    n = snprintf(buf, cap,
                 "table inet %s\n"
                 "delete table inet %s\n"
                 "table inet %s {\n"
                 "    chain postrouting {\n"
                 "        type nat hook postrouting priority srcnat; policy accept;\n"
                 "        iifname \"%s\" oifname != \"%s\" masquerade\n"
                 "    }\n"
                 "}\n",
                 table, table, table, ifname, ifname);
    if (n < 0 || (size_t)n >= cap)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    return n;
}

/* Start nft -f - with in as its stdin and errfd as its stdout and stderr. */
static int nat_spawn(pid_t *pid, int in, int errfd)
{
    posix_spawn_file_actions_t fa;
    const char *nft = getenv("FLOE_NFT");
    char *argv[] = {(char *)"nft", (char *)"-f", (char *)"-", NULL};
    int rc;

    if (!nft || !*nft)
        nft = "nft";
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_adddup2(&fa, errfd, 1);
    posix_spawn_file_actions_adddup2(&fa, errfd, 2);
    rc = posix_spawnp(pid, nft, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        *pid = 0;
    return rc == 0 ? 0 : FLOE_ERR_IO;
}

/* Read fd to its end into err[0..cap) (NUL-terminated, trailing newline cut). */
static void nat_read_all(int fd, char *err, size_t cap)
{
    size_t used = 0;
    char sink[256];

    for (;;) {
        char *dst = used + 1 < cap ? err + used : sink;
        size_t room = used + 1 < cap ? cap - 1 - used : sizeof(sink);
        ssize_t r = read(fd, dst, room);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (dst != sink)
            used += (size_t)r;
    }
    if (cap == 0)
        return;
    err[used] = '\0';
    while (used > 0 && err[used - 1] == '\n')
        err[--used] = '\0';
}

static int nat_wait(pid_t pid)
{
    int status;

    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return FLOE_ERR_IO;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : FLOE_ERR_PROTOCOL;
}

int floe_gw_nft_run(const char *text, char *err, size_t err_cap)
{
    int in[2], out[2], rc, wrc;
    pid_t pid = 0;
    size_t len = text ? strlen(text) : 0;

    if (err && err_cap)
        err[0] = '\0';
    if (!text)
        return FLOE_ERR_INVALID_ARG;
    /* a socket, not a pipe, for nft's input: send(MSG_NOSIGNAL) cannot raise SIGPIPE */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0)
        return FLOE_ERR_IO;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return FLOE_ERR_IO;
    }
    rc = nat_spawn(&pid, in[0], out[1]);
    close(in[0]);
    close(out[1]);
    /* the ruleset is far below a socket's buffer: sent whole before reading nft's output */
    if (rc == 0 && send(in[1], text, len, MSG_NOSIGNAL) != (ssize_t)len)
        rc = FLOE_ERR_IO;
    close(in[1]);
    if (pid > 0)
        nat_read_all(out[0], err, err_cap);
    close(out[0]);
    wrc = pid > 0 ? nat_wait(pid) : FLOE_ERR_IO;
    return rc != 0 ? rc : wrc;
}

/* Turn one forwarding sysctl on; logs the value before. */
static int nat_sysctl_on(const char *path, struct floe_jsonlog *lg)
{
    char was[8] = "?";
    int fd = open(path, O_RDWR | O_CLOEXEC);
    ssize_t r;
    struct floe_log_field f[2] = {FLOE_LF_S("sysctl", path), FLOE_LF_S("was", was)};

    if (fd < 0) {
        floe_jsonlog_logf(lg, FLOE_LOG_WARN, NAT_TARGET, f, 1, "cannot open %s: %s", path,
                          strerror(errno));
        return FLOE_ERR_IO;
    }
    r = read(fd, was, sizeof(was) - 1);
    was[r > 0 ? (size_t)r : 1] = '\0';
    was[strcspn(was, "\n")] = '\0';
    if (pwrite(fd, "1\n", 2, 0) != 2) {
        floe_jsonlog_logf(lg, FLOE_LOG_ERROR, NAT_TARGET, f, 2, "cannot turn forwarding on: %s",
                          strerror(errno));
        close(fd);
        return FLOE_ERR_IO;
    }
    close(fd);
    floe_jsonlog_logf(lg, FLOE_LOG_INFO, NAT_TARGET, f, 2, "forwarding on");
    return 0;
}

int floe_gw_nat_start(const char *ifname, struct floe_jsonlog *lg)
{
    char rules[1024], table[FLOE_GW_NAT_TABLE_MAX], err[512];
    int rc;

    if (floe_gw_nat_ruleset(ifname, rules, sizeof(rules)) < 0 ||
        floe_gw_nat_table(ifname, table, sizeof(table)) < 0)
        return FLOE_ERR_INVALID_ARG;
    for (size_t i = 0; i < sizeof(nat_sysctls) / sizeof(nat_sysctls[0]); i++) {
        rc = nat_sysctl_on(nat_sysctls[i], lg);
        if (rc != 0 && i == 0)
            return rc; /* IPv4 is required; a host without IPv6 still serves IPv4 */
    }
    rc = floe_gw_nft_run(rules, err, sizeof(err));
    {
        struct floe_log_field f[3] = {FLOE_LF_S("table", table), FLOE_LF_S("rules", rules),
                                      FLOE_LF_S("error", err)};

        if (rc != 0) {
            floe_jsonlog_logf(lg, FLOE_LOG_ERROR, NAT_TARGET, f, 3,
                              "cannot create the nftables table (nft -f): %s", floe_strerror(rc));
            return rc;
        }
        floe_jsonlog_logf(lg, FLOE_LOG_INFO, NAT_TARGET, f, 2,
                          "nftables table created: masquerade from %s toward the resources",
                          ifname);
    }
    return 0;
}

void floe_gw_nat_stop(const char *ifname, struct floe_jsonlog *lg)
{
    char cmd[128], table[FLOE_GW_NAT_TABLE_MAX], err[512];
    int rc;

    if (floe_gw_nat_table(ifname, table, sizeof(table)) < 0)
        return;
    /* create-then-delete: no error when the table is gone already */
    snprintf(cmd, sizeof(cmd), "table inet %s\ndelete table inet %s\n", table, table);
    rc = floe_gw_nft_run(cmd, err, sizeof(err));
    {
        struct floe_log_field f[2] = {FLOE_LF_S("table", table), FLOE_LF_S("error", err)};

        if (rc != 0)
            floe_jsonlog_logf(lg, FLOE_LOG_ERROR, NAT_TARGET, f, 2,
                              "cannot delete the nftables table: %s", floe_strerror(rc));
        else
            floe_jsonlog_logf(lg, FLOE_LOG_INFO, NAT_TARGET, f, 1, "nftables table deleted");
    }
}
