/* `floe-client status [--json]`: ask the running daemon over its status socket. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include "floe_io.h"
#else
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#endif

#include "client.h"

#define STATUS_MAX 262144

#ifdef _WIN32
/* Windows: the daemon's status listener is TCP on a loopback IP:PORT. */
static long status_fetch(const char *path, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    struct floe_addr at;
    socklen_t sl;
    SOCKET s = INVALID_SOCKET;
    DWORD ms = 5000;
    size_t len = 0;
    WSADATA wd;
    int r;

    if (WSAStartup(MAKEWORD(2, 2), &wd) != 0 || floe_io_resolve(path, FLOE_AF_NONE, &at) != 0 ||
        floe_io_addr_to_sockaddr(&at, &ss, &sl) ||
        (s = socket(ss.ss_family, SOCK_STREAM, IPPROTO_TCP)) == INVALID_SOCKET ||
        connect(s, (struct sockaddr *)&ss, sl) != 0 || send(s, "status\n", 7, 0) != 7) {
        fprintf(stderr, "floe-client: no floe-client at %s (Winsock error %d)\n", path,
                WSAGetLastError());
        if (s != INVALID_SOCKET)
            closesocket(s);
        return -1;
    }
    (void)setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&ms, sizeof(ms));
    while (len + 1 < cap && (r = recv(s, buf + len, (int)(cap - 1 - len), 0)) > 0)
        len += (size_t)r;
    closesocket(s);
    buf[len] = '\0';
    if (len == 0) {
        fprintf(stderr, "floe-client: %s gave no status\n", path);
        return -1;
    }
    return (long)len;
}
#else
/* The daemon's answer into buf (NUL-terminated). Returns its length or -1 (said why). */
static long status_fetch(const char *path, char *buf, size_t cap)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    size_t len = 0;
    ssize_t r;

    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
        write(fd, "status\n", 7) != 7) {
        fprintf(stderr, "floe-client: no floe-client at %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while (len + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) != 1 || (r = read(fd, buf + len, cap - 1 - len)) <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    if (len == 0) {
        fprintf(stderr, "floe-client: %s gave no status\n", path);
        return -1;
    }
    return (long)len;
}
#endif

static const char *js(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static unsigned long long ju(const json_t *o, const char *k)
{
    return (unsigned long long)json_integer_value(json_object_get(o, k));
}

static void status_print(const json_t *st)
{
    size_t i;
    json_t *v;

    printf("interface %s\nportal %s\n", js(st, "interface"), js(st, "portal"));
    json_array_foreach(json_object_get(st, "relays"), i, v)
        printf("relay %s %s\n", js(v, "id"), js(v, "addr"));
    json_array_foreach(json_object_get(st, "resources"), i, v) printf(
        "resource %s %s %s gateway %s pending %llu dropped %llu\n", js(v, "id"), js(v, "name"),
        js(v, "address"), js(v, "gateway"), ju(v, "pending"), ju(v, "dropped"));
    json_array_foreach(json_object_get(st, "connections"), i, v) printf(
        "connection %llu gateway %s %s path %s remote %s rtt %.3f ms tx %llu rx %llu\n",
        ju(v, "id"), js(v, "peer"),
        json_is_true(json_object_get(v, "established")) ? "up" : "connecting", js(v, "path"),
        js(v, "remote"), (double)ju(v, "rtt_us") / 1000.0, ju(v, "tx_bytes"), ju(v, "rx_bytes"));
}

int client_status(const struct client_opts *o)
{
    char *buf = malloc(STATUS_MAX);
    json_t *st;
    long n;

    if (!buf)
        return 1;
    n = status_fetch(o->agent.control, buf, STATUS_MAX);
    if (n < 0) {
        free(buf);
        return 1;
    }
    if (o->json) {
        fputs(buf, stdout);
        free(buf);
        return 0;
    }
    st = json_loadb(buf, (size_t)n, 0, NULL);
    free(buf);
    if (!st) {
        fprintf(stderr, "floe-client: the status is not JSON\n");
        return 1;
    }
    status_print(st);
    json_decref(st);
    return 0;
}
