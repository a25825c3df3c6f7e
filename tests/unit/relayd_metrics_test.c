/*
 * floe-relay's metrics endpoint serves every client at once: a connection that sends
 * nothing (or half a request) does not delay a scrape, nor do many of them; an idle one
 * is closed after the timeout without an answer; a request head that never ends is refused
 * with 431; a scrape answers 200 with the counters.
 */
#include <netinet/in.h>
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>

#include "test.h"

#include "relayd_harness.h"

#define MT_IDLE 40

struct mt {
    struct rh_daemon t;
    pthread_t thread;
    struct sockaddr_in sa;
};

static int mt_start(struct mt *m)
{
    static const char *const args[] = {"--threads",     "1",           "--user", "alice:secret",
                                       "--relay-ports", "62700-62709", NULL};

    if (rh_start(&m->t, args) < 0)
        return -1;
    m->t.d.opts.metrics = floe_addr_v4(127, 0, 0, 1, rh_free_port());
    m->t.d.opts.have_metrics = true;
    if (relayd_metrics_open(&m->t.d) < 0)
        return -1;
    memset(&m->sa, 0, sizeof(m->sa));
    m->sa.sin_family = AF_INET;
    m->sa.sin_port = htons(m->t.d.opts.metrics.port);
    m->sa.sin_addr.s_addr = htonl(0x7f000001);
    return pthread_create(&m->thread, NULL, relayd_metrics_run, &m->t.d) == 0 ? 0 : -1;
}

static void mt_stop(struct mt *m)
{
    atomic_store(&m->t.d.stop, true);
    pthread_join(m->thread, NULL);
    rh_stop(&m->t);
}

static int mt_connect(const struct mt *m)
{
    struct timeval tv = {3, 0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || connect(fd, (const struct sockaddr *)&m->sa, sizeof(m->sa)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Read until EOF (or the 3 s receive timeout) into buf; returns the length, -1 on error. */
static long mt_read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;

    while (len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "  read: %s after %zu bytes\n", strerror(errno), len);
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return (long)len;
}

/* One scrape; returns how long it took in ms, -1 if the answer was not a 200 with counters. */
static long mt_scrape(const struct mt *m)
{
    static char buf[65536];
    floe_time t0 = floe_io_now();
    const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
    int fd = mt_connect(m);
    long n;

    if (fd < 0 || write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    n = mt_read_all(fd, buf, sizeof(buf));
    close(fd);
    if (n <= 0 || strncmp(buf, "HTTP/1.0 200 OK", 15) != 0 ||
        !strstr(buf, "floe_relay_allocations_total "))
        return -1;
    return (long)((floe_io_now() - t0) / FLOE_MS(1));
}

static void test_idle_client_does_not_block_scrape(void)
{
    static struct mt m;
    int idle, half;
    long ms;

    REQUIRE(mt_start(&m) == 0);
    idle = mt_connect(&m);
    half = mt_connect(&m);
    REQUIRE(idle >= 0 && half >= 0);
    CHECK(write(half, "GET /met", 8) == 8);
    usleep(50 * 1000);
    ms = mt_scrape(&m);
    CHECK(ms >= 0);
    CHECK(ms < 500); /* not behind the idle clients */
    close(idle);
    close(half);
    mt_stop(&m);
}

static void test_many_idle_clients_bounded(void)
{
    static struct mt m;
    int fds[MT_IDLE], i, closed = 0;
    char c;
    long ms;

    REQUIRE(mt_start(&m) == 0);
    for (i = 0; i < MT_IDLE; i++)
        fds[i] = mt_connect(&m);
    usleep(100 * 1000);
    ms = mt_scrape(&m);
    CHECK(ms >= 0);
    CHECK(ms < 500);
    /* the server keeps a bounded number: most idle ones were let go, without an answer */
    for (i = 0; i < MT_IDLE; i++) {
        struct timeval tv = {0, 200000};

        (void)setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (fds[i] >= 0 && read(fds[i], &c, 1) == 0)
            closed++;
        if (fds[i] >= 0)
            close(fds[i]);
    }
    CHECK(closed >= MT_IDLE - 16);
    mt_stop(&m);
}

static void test_idle_client_times_out(void)
{
    static struct mt m;
    char buf[256];
    floe_time t0;
    struct timeval tv = {8, 0};
    int fd;

    REQUIRE(mt_start(&m) == 0);
    fd = mt_connect(&m);
    REQUIRE(fd >= 0);
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    CHECK(write(fd, "GET / HTTP/1.0\r\n", 16) == 16); /* never finished */
    t0 = floe_io_now();
    CHECK_EQ(mt_read_all(fd, buf, sizeof(buf)), 0); /* closed, no answer */
    CHECK(floe_io_now() - t0 < FLOE_SEC(7));
    close(fd);
    mt_stop(&m);
}

static void test_oversized_request_refused(void)
{
    static struct mt m;
    static char junk[8192], buf[4096];
    int fd;

    REQUIRE(mt_start(&m) == 0);
    memset(junk, 'A', sizeof(junk));
    memcpy(junk, "GET /", 5);
    fd = mt_connect(&m);
    REQUIRE(fd >= 0);
    CHECK(write(fd, junk, sizeof(junk)) > 0);
    CHECK(mt_read_all(fd, buf, sizeof(buf)) > 0);
    CHECK(strncmp(buf, "HTTP/1.0 431", 12) == 0);
    close(fd);
    CHECK(mt_scrape(&m) >= 0);
    mt_stop(&m);
}

int main(void)
{
    FLOE_RUN(test_idle_client_does_not_block_scrape);
    FLOE_RUN(test_many_idle_clients_bounded);
    FLOE_RUN(test_idle_client_times_out);
    FLOE_RUN(test_oversized_request_refused);
    return floe_test_summary();
}
