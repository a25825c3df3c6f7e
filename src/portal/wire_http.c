/*
 * The HTTP/1.1 upgrade of RFC 6455 section 4: the client's request and the
 * check of the server's answer; the server's bounded request parser (8 KiB,
 * 64 headers), its checks of an upgrade request, and its two answers (101 or
 * a plain response).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "floe/crypto.h"
#include "wire_int.h"

/* A parsed head: the first line and the header lines, split in place. */
struct wire_head {
    char *line;
    struct floe_wsconn_header *h;
    size_t n;
};

enum wire_parse {
    WIRE_PARSE_OK = 0,
    WIRE_PARSE_MALFORMED = -1,
    WIRE_PARSE_TOO_MANY = -2,
};

/* ----------------------------------------------------------------- helpers */

static bool wire_is_tchar(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int wire_lower(int ch)
{
    return (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch;
}

static bool wire_ieq_n(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (wire_lower((unsigned char)a[i]) != wire_lower((unsigned char)b[i]))
            return false;
        if (!a[i])
            return true;
    }
    return true;
}

static bool wire_ieq(const char *a, const char *b)
{
    return strlen(a) == strlen(b) && wire_ieq_n(a, b, strlen(a));
}

static const char *wire_find(const struct floe_wsconn_header *h, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (wire_ieq(h[i].name, name))
            return h[i].value;
    return NULL;
}

/* Does the comma-separated list value hold token (any case)? */
static bool wire_has_token(const char *value, const char *token)
{
    size_t tl = strlen(token), len;
    const char *p = value;

    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        for (len = 0; p[len] && p[len] != ',' && p[len] != ' ' && p[len] != '\t'; len++)
            ;
        if (len == tl && wire_ieq_n(p, token, tl))
            return true;
        p += len;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

static char *wire_trim(char *s)
{
    size_t n;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

static bool wire_value_ok(const char *v)
{
    for (; *v; v++) {
        unsigned char ch = (unsigned char)*v;

        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return false;
    }
    return true;
}

/* Next line of *p (ended by LF, an optional CR before it removed), or NULL at the end. */
static char *wire_next_line(char **p)
{
    char *line = *p, *lf;
    size_t n;

    if (!line || !*line)
        return NULL;
    lf = strchr(line, '\n');
    if (lf) {
        *lf = '\0';
        *p = lf + 1;
    } else {
        *p = NULL;
    }
    n = strlen(line);
    if (n && line[n - 1] == '\r')
        line[n - 1] = '\0';
    return line;
}

static int wire_parse_header(char *line, struct floe_wsconn_header *h)
{
    char *colon = strchr(line, ':'), *q;

    if (!colon || colon == line)
        return WIRE_PARSE_MALFORMED;
    for (q = line; q < colon; q++)
        if (!wire_is_tchar((unsigned char)*q))
            return WIRE_PARSE_MALFORMED;
    *colon = '\0';
    h->name = line;
    h->value = wire_trim(colon + 1);
    return wire_value_ok(h->value) ? WIRE_PARSE_OK : WIRE_PARSE_MALFORMED;
}

/* Split text (NUL-terminated, the head without its blank line) into lines and headers. */
static int wire_parse_head(char *text, struct wire_head *out, struct floe_wsconn_header *h)
{
    char *p = text, *line;
    int rc;

    if (!(out->line = wire_next_line(&p)))
        return WIRE_PARSE_MALFORMED;
    out->h = h;
    out->n = 0;
    while ((line = wire_next_line(&p)) != NULL) {
        if (!*line)
            continue; /* the terminating blank line */
        if (line[0] == ' ' || line[0] == '\t')
            return WIRE_PARSE_MALFORMED; /* obsolete line folding (RFC 9112 section 5.2) */
        if (out->n == FLOE_WSCONN_HEADERS_MAX)
            return WIRE_PARSE_TOO_MANY;
        rc = wire_parse_header(line, &h[out->n]);
        if (rc < 0)
            return rc;
        out->n++;
    }
    return WIRE_PARSE_OK;
}

/*
 * Where the head ends (past its blank line) in b, or 0 when not yet. The scan
 * starts where the last one stopped (*scan), so a head fed a byte at a time
 * costs linear time.
 */
static size_t wire_head_end(const struct wire_buf *b, size_t *scan)
{
    const uint8_t *d = b->data + b->off;
    size_t n = floe__wire_buf_pending(b), i;

    for (i = *scan; i + 1 < n; i++) {
        if (d[i] != '\n')
            continue;
        if (d[i + 1] == '\n')
            return i + 2;
        if (i + 2 >= n)
            break;
        if (d[i + 1] == '\r' && d[i + 2] == '\n')
            return i + 3;
    }
    *scan = i;
    return 0;
}

int floe__wire_accept_key(char out[WIRE_ACCEPT_LEN + 1], const char *key)
{
    uint8_t digest[EVP_MAX_MD_SIZE];
    char in[WIRE_KEY_LEN + sizeof(WIRE_GUID)];
    unsigned int dlen = 0;
    int n;

    n = snprintf(in, sizeof(in), "%s%s", key, WIRE_GUID);
    if (n < 0 || (size_t)n >= sizeof(in))
        return FLOE_ERR_INVALID_ARG;
    if (EVP_Digest(in, (size_t)n, digest, &dlen, EVP_sha1(), NULL) != 1 || dlen != 20)
        return FLOE_ERR_CRYPTO;
    n = floe_base64_encode(out, WIRE_ACCEPT_LEN + 1, digest, dlen);
    return n == (int)WIRE_ACCEPT_LEN ? 0 : FLOE_ERR_INTERNAL;
}

static const char *wire_reason_phrase(int status)
{
    static const struct {
        int status;
        const char *text;
    } t[] = {
        {101, "Switching Protocols"},
        {200, "OK"},
        {204, "No Content"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {413, "Content Too Large"},
        {426, "Upgrade Required"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {505, "HTTP Version Not Supported"},
    };
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (t[i].status == status)
            return t[i].text;
    return "Status";
}

/* Append the NUL-terminated strings of a NULL-terminated list to out. */
static int wire_put(struct floe_wsconn *c, const char *const *parts)
{
    int rc = 0;

    for (; *parts && rc == 0; parts++)
        rc = floe__wire_buf_append(c, &c->out, *parts, strlen(*parts));
    return rc;
}

/* ------------------------------------------------------------------ client */

int floe__wire_http_client_request(struct floe_wsconn *c)
{
    uint8_t nonce[16];
    const char *auth[] = {"Authorization: Bearer ", c->token, "\r\n", NULL};
    const char *parts[] = {"GET ",
                           c->path,
                           " HTTP/1.1\r\nHost: ",
                           c->host,
                           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ",
                           c->ws_key,
                           "\r\nSec-WebSocket-Version: 13\r\nUser-Agent: ",
                           c->user_agent,
                           "\r\n",
                           NULL};
    int rc;

    if (floe_rng_fill(&c->cfg.rng, nonce, sizeof(nonce)) < 0)
        return FLOE_ERR_INVALID_ARG;
    if (floe_base64_encode(c->ws_key, sizeof(c->ws_key), nonce, sizeof(nonce)) != (int)WIRE_KEY_LEN)
        return FLOE_ERR_INTERNAL;
    rc = wire_put(c, parts);
    if (rc == 0 && c->token)
        rc = wire_put(c, auth);
    if (rc == 0)
        rc = floe__wire_buf_append(c, &c->out, "\r\n", 2);
    return rc;
}

/* "HTTP/1.1 401 Unauthorized" -> 401; -1 when not a status line. */
static int wire_status_line(const char *line, const char **reason)
{
    int status;

    if (strncmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') || line[8] != ' ')
        return -1;
    if (line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' || line[11] < '0' ||
        line[11] > '9' || (line[12] && line[12] != ' '))
        return -1;
    status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    *reason = line[12] ? line + 13 : "";
    return status;
}

/* Content-Length as a number, or -1 when absent or not all digits (or too large). */
static long wire_content_length(const struct wire_head *hd)
{
    const char *v = wire_find(hd->h, hd->n, "Content-Length");
    long n = 0;

    if (!v || !*v)
        return -1;
    for (; *v; v++) {
        if (*v < '0' || *v > '9' || n > 100000000)
            return -1;
        n = n * 10 + (*v - '0');
    }
    return n;
}

void floe__wire_refusal_done(struct floe_wsconn *c, const uint8_t *body, size_t n)
{
    char text[FLOE_WSCONN_TEXT_MAX];
    size_t len = strlen(c->refusal);

    memcpy(text, c->refusal, len + 1);
    while (n && (body[n - 1] == '\n' || body[n - 1] == '\r' || body[n - 1] == ' '))
        n--;
    if (n && len + 3 < sizeof(text)) {
        memcpy(text + len, ": ", 2);
        floe__wire_copy_text(text + len + 2, sizeof(text) - len - 2, (const char *)body, n);
    }
    c->body_wait = 0;
    c->stats.drops[FLOE_WSCONN_DROP_HANDSHAKE]++;
    floe__wire_fail(c, FLOE_ERR_PROTOCOL, FLOE_WSCONN_BY_PEER, FLOE_WS_CLOSE_ABNORMAL, text);
}

/* Not 101: the status and its reason, and the body when a short one is on its way. */
static void wire_client_refused(struct floe_wsconn *c, const struct wire_head *hd,
                                const char *reason)
{
    long len = wire_content_length(hd);

    snprintf(c->refusal, sizeof(c->refusal), "HTTP %d %.60s", c->http_status,
             reason[0] ? reason : wire_reason_phrase(c->http_status));
    if (len > 0 && len <= (long)WIRE_BODY_WAIT_MAX) {
        c->body_wait = (size_t)len;
        return;
    }
    floe__wire_refusal_done(c, NULL, 0);
}

static const char *wire_client_check_101(struct floe_wsconn *c, const struct wire_head *hd)
{
    const char *v;
    char want[WIRE_ACCEPT_LEN + 1];

    v = wire_find(hd->h, hd->n, "Upgrade");
    if (!v || !wire_has_token(v, "websocket"))
        return "WebSocket: the 101 answer has no Upgrade: websocket";
    v = wire_find(hd->h, hd->n, "Connection");
    if (!v || !wire_has_token(v, "upgrade"))
        return "WebSocket: the 101 answer has no Connection: Upgrade";
    if (floe__wire_accept_key(want, c->ws_key) < 0)
        return "WebSocket: cannot compute Sec-WebSocket-Accept";
    v = wire_find(hd->h, hd->n, "Sec-WebSocket-Accept");
    if (!v || strcmp(v, want) != 0)
        return "WebSocket: wrong Sec-WebSocket-Accept";
    if (wire_find(hd->h, hd->n, "Sec-WebSocket-Extensions"))
        return "WebSocket: the server chose an extension that was not offered";
    return NULL;
}

/* The server's answer head (NUL-terminated text). */
static void wire_client_head(struct floe_wsconn *c, floe_time now, char *text)
{
    struct floe_wsconn_header h[FLOE_WSCONN_HEADERS_MAX];
    struct wire_head hd;
    const char *reason = "", *bad;
    int rc = wire_parse_head(text, &hd, h), status = -1;

    if (rc == WIRE_PARSE_OK)
        status = wire_status_line(hd.line, &reason);
    if (rc < 0 || status < 0) {
        c->stats.drops[rc == WIRE_PARSE_TOO_MANY ? FLOE_WSCONN_DROP_HTTP_TOO_LARGE
                                                 : FLOE_WSCONN_DROP_HTTP_MALFORMED]++;
        floe__wire_fail(c, FLOE_ERR_PROTOCOL, FLOE_WSCONN_BY_PEER, FLOE_WS_CLOSE_ABNORMAL,
                        "HTTP: malformed answer to the upgrade request");
        return;
    }
    c->http_status = status;
    if (status != 101) {
        wire_client_refused(c, &hd, reason);
        return;
    }
    bad = wire_client_check_101(c, &hd);
    if (!bad && floe__wire_ws_new(c) < 0)
        bad = "out of memory";
    if (bad) {
        c->stats.drops[FLOE_WSCONN_DROP_HANDSHAKE]++;
        floe__wire_fail(c, FLOE_ERR_PROTOCOL, FLOE_WSCONN_BY_PEER, FLOE_WS_CLOSE_ABNORMAL, bad);
        return;
    }
    floe__wire_open(c, now);
}

/* ------------------------------------------------------------------ server */

static int wire_write_response(struct floe_wsconn *c, int status, const char *content_type,
                               const uint8_t *body, size_t len);

static void wire_server_refuse(struct floe_wsconn *c, int status, enum floe_wsconn_drop drop,
                               const char *text)
{
    c->stats.drops[drop]++;
    c->http_status = status;
    (void)wire_write_response(c, status, NULL, (const uint8_t *)text, strlen(text));
    floe__wire_fail(c, FLOE_ERR_PROTOCOL, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL, text);
}

static int wire_hexval(char ch)
{
    return floe_hex_digit(ch);
}

/* Percent-decode src[0..n) into dst (at least n + 1 bytes). False on a bad escape or a CTL. */
static bool wire_pct_decode(char *dst, const char *src, size_t n)
{
    size_t i, o = 0;
    int hi, lo;

    for (i = 0; i < n; i++) {
        if (src[i] == '%') {
            if (i + 2 >= n)
                return false;
            hi = wire_hexval(src[i + 1]);
            lo = wire_hexval(src[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            dst[o] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            dst[o] = src[i] == '+' ? ' ' : src[i];
        }
        if ((unsigned char)dst[o] < 0x20 || dst[o] == 0x7f)
            return false;
        o++;
    }
    dst[o] = '\0';
    return true;
}

/* The value of name=... in the query (percent-decoded into dst), or false. */
static bool wire_query_param(const char *query, const char *name, char *dst)
{
    size_t nl = strlen(name), len;
    const char *p = query;

    while (*p) {
        for (len = 0; p[len] && p[len] != '&'; len++)
            ;
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
            return wire_pct_decode(dst, p + nl + 1, len - nl - 1);
        p += len;
        if (*p == '&')
            p++;
    }
    return false;
}

static void wire_server_token(struct floe_wsconn *c)
{
    const char *auth = floe_wsconn_request_header(c, "Authorization");

    c->req_token[0] = '\0';
    if (auth && wire_ieq_n(auth, "Bearer ", 7)) {
        auth += 7;
        while (*auth == ' ')
            auth++;
        memcpy(c->req_token, auth, strlen(auth) + 1);
    } else if (!wire_query_param(c->req.query, "token", c->req_token)) {
        c->req_token[0] = '\0';
    }
    c->req.token = c->req_token;
}

/* Request line "GET /x?y HTTP/1.1": method, target and version. 0, or the HTTP status. */
static int wire_request_line(struct floe_wsconn *c, char *line, bool *http11)
{
    char *sp1 = strchr(line, ' '), *sp2, *q;

    if (!sp1)
        return 400;
    *sp1 = '\0';
    sp2 = strchr(sp1 + 1, ' ');
    if (!sp2 || sp1 == line)
        return 400;
    *sp2 = '\0';
    for (q = line; *q; q++)
        if (!wire_is_tchar((unsigned char)*q))
            return 400;
    for (q = sp1 + 1; *q; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
            return 400;
    if (sp1[1] != '/')
        return 400;
    if (strcmp(sp2 + 1, "HTTP/1.1") != 0 && strcmp(sp2 + 1, "HTTP/1.0") != 0)
        return strncmp(sp2 + 1, "HTTP/", 5) == 0 ? 505 : 400;
    *http11 = sp2[8] == '1';
    c->req.method = line;
    c->req.target = sp1 + 1;
    return 0;
}

/* Split the target into path and query (copied after the head in req_buf). */
static void wire_split_target(struct floe_wsconn *c, char *spare)
{
    const char *q = strchr(c->req.target, '?');
    size_t plen = q ? (size_t)(q - c->req.target) : strlen(c->req.target);

    memcpy(spare, c->req.target, plen);
    spare[plen] = '\0';
    c->req.path = spare;
    c->req.query = q ? q + 1 : "";
}

/* The upgrade checks of RFC 6455 section 4.2.1: 0, or the HTTP status to refuse with. */
static int wire_server_upgrade(struct floe_wsconn *c, bool http11, const char **why)
{
    const char *v = floe_wsconn_request_header(c, "Upgrade");
    uint8_t key[18];

    if (!v || !wire_has_token(v, "websocket"))
        return 0;
    c->upgrade_asked = true;
    *why = "WebSocket: bad upgrade request";
    if (strcmp(c->req.method, "GET") != 0 || !http11)
        return 400;
    v = floe_wsconn_request_header(c, "Connection");
    if (!v || !wire_has_token(v, "upgrade"))
        return 400;
    v = floe_wsconn_request_header(c, "Sec-WebSocket-Version");
    if (!v || strcmp(v, "13") != 0) {
        *why = "WebSocket: unsupported Sec-WebSocket-Version (13 only)";
        return 426;
    }
    v = floe_wsconn_request_header(c, "Sec-WebSocket-Key");
    if (!v || strlen(v) != WIRE_KEY_LEN ||
        floe_base64_decode(key, sizeof(key), v, WIRE_KEY_LEN) != 16) {
        *why = "WebSocket: bad Sec-WebSocket-Key";
        return 400;
    }
    memcpy(c->ws_key, v, WIRE_KEY_LEN + 1);
    c->req.websocket = true;
    return 0;
}

static int wire_server_checks(struct floe_wsconn *c, bool http11, const char **why)
{
    const char *v;

    *why = "HTTP: malformed request";
    if (http11 && !floe_wsconn_request_header(c, "Host")) {
        *why = "HTTP: no Host header";
        return 400;
    }
    v = floe_wsconn_request_header(c, "Content-Length");
    if (floe_wsconn_request_header(c, "Transfer-Encoding") || (v && strcmp(v, "0") != 0)) {
        *why = "HTTP: request bodies are not accepted";
        return 400;
    }
    v = floe_wsconn_request_header(c, "Host");
    c->req.host = v ? v : "";
    v = floe_wsconn_request_header(c, "User-Agent");
    c->req.user_agent = v ? v : "";
    wire_server_token(c);
    return wire_server_upgrade(c, http11, why);
}

static int wire_server_alloc(struct floe_wsconn *c, size_t n)
{
    const struct floe_allocator *a = &c->cfg.alloc;

    c->req_len = 2 * n + 2;
    c->req_buf = floe_mem_malloc(a, c->req_len);
    c->req_token = floe_mem_calloc(a, 1, n + 1);
    c->headers = floe_mem_calloc(a, FLOE_WSCONN_HEADERS_MAX, sizeof(*c->headers));
    return (c->req_buf && c->req_token && c->headers) ? 0 : FLOE_ERR_NOMEM;
}

/* The client's request head (n bytes at p). */
static void wire_server_head(struct floe_wsconn *c, const uint8_t *p, size_t n)
{
    struct wire_head hd;
    struct floe_wsconn_event ev;
    const char *why = "HTTP: malformed request";
    bool http11 = false;
    int rc, status;

    if (wire_server_alloc(c, n) < 0) {
        floe__wire_fail(c, FLOE_ERR_NOMEM, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL,
                        "out of memory");
        return;
    }
    memcpy(c->req_buf, p, n);
    c->req_buf[n] = '\0';
    rc = memchr(p, '\0', n) ? WIRE_PARSE_MALFORMED : wire_parse_head(c->req_buf, &hd, c->headers);
    if (rc == WIRE_PARSE_TOO_MANY) {
        wire_server_refuse(c, 431, FLOE_WSCONN_DROP_HTTP_TOO_LARGE, "HTTP: too many headers");
        return;
    }
    status = rc < 0 ? 400 : wire_request_line(c, hd.line, &http11);
    c->req.headers = c->headers;
    c->req.n_headers = rc < 0 ? 0 : hd.n;
    if (status == 0) {
        wire_split_target(c, c->req_buf + n + 1);
        status = wire_server_checks(c, http11, &why);
    }
    if (status) {
        wire_server_refuse(
            c, status,
            c->upgrade_asked ? FLOE_WSCONN_DROP_HANDSHAKE : FLOE_WSCONN_DROP_HTTP_MALFORMED, why);
        return;
    }
    c->state = FLOE_WSCONN_REQUEST;
    c->req_complete = true;
    memset(&ev, 0, sizeof(ev));
    ev.kind = FLOE_WSCONN_EV_REQUEST;
    floe__wire_event(c, &ev);
}

const struct floe_wsconn_request *floe_wsconn_request(const struct floe_wsconn *c)
{
    if (!c || !c->req_complete)
        return NULL;
    return &c->req;
}

const char *floe_wsconn_request_header(const struct floe_wsconn *c, const char *name)
{
    if (!c || !name || !c->headers)
        return NULL;
    return wire_find(c->headers, c->req.n_headers, name);
}

int floe_wsconn_accept(struct floe_wsconn *c, floe_time now)
{
    char accept[WIRE_ACCEPT_LEN + 1];
    const char *parts[] = {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Accept: ",
                           accept, "\r\n\r\n", NULL};

    if (!c)
        return FLOE_ERR_INVALID_ARG;
    if (c->state != FLOE_WSCONN_REQUEST || !c->req.websocket)
        return FLOE_ERR_STATE;
    if (floe__wire_accept_key(accept, c->ws_key) < 0 || wire_put(c, parts) < 0 ||
        floe__wire_ws_new(c) < 0) {
        floe__wire_fail(c, FLOE_ERR_NOMEM, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL,
                        "out of memory");
        return FLOE_ERR_NOMEM;
    }
    c->http_status = 101;
    floe__wire_open(c, now);
    floe__wire_ws_pump(c); /* frames that came right behind the request */
    floe__wire_tls_flush(c);
    return 0;
}

static bool wire_header_value_ok(const char *v)
{
    return wire_value_ok(v) && strlen(v) < 256;
}

static int wire_write_response(struct floe_wsconn *c, int status, const char *content_type,
                               const uint8_t *body, size_t len)
{
    char head[512];
    int n;

    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %llu\r\n%s%s"
                 "Connection: close\r\n\r\n",
                 status, wire_reason_phrase(status),
                 content_type ? content_type : "text/plain; charset=utf-8", (unsigned long long)len,
                 status == 401 ? "WWW-Authenticate: Bearer\r\n" : "",
                 status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof(head))
        return FLOE_ERR_INTERNAL;
    if (floe__wire_buf_append(c, &c->out, head, (size_t)n) < 0 ||
        floe__wire_buf_append(c, &c->out, body, len) < 0)
        return FLOE_ERR_NOMEM;
    return 0;
}

int floe_wsconn_respond(struct floe_wsconn *c, floe_time now, int status, const char *content_type,
                        const uint8_t *body, size_t len)
{
    int rc;

    (void)now;
    if (!c || status < 100 || status > 599 || status == 101 || (!body && len))
        return FLOE_ERR_INVALID_ARG;
    if (content_type && !wire_header_value_ok(content_type))
        return FLOE_ERR_INVALID_ARG;
    if (c->state != FLOE_WSCONN_REQUEST)
        return FLOE_ERR_STATE;
    rc = wire_write_response(c, status, content_type, body, len);
    if (rc < 0)
        return rc;
    c->http_status = status;
    floe__wire_closed(c, 0, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL,
                      wire_reason_phrase(status));
    return 0;
}

/* ------------------------------------------------------------------ input */

static void wire_head_too_large(struct floe_wsconn *c)
{
    if (c->cfg.role == FLOE_WSCONN_SERVER) {
        wire_server_refuse(c, 431, FLOE_WSCONN_DROP_HTTP_TOO_LARGE,
                           "HTTP: request head over 8192 bytes");
        return;
    }
    c->stats.drops[FLOE_WSCONN_DROP_HTTP_TOO_LARGE]++;
    floe__wire_fail(c, FLOE_ERR_PROTOCOL, FLOE_WSCONN_BY_PEER, FLOE_WS_CLOSE_ABNORMAL,
                    "HTTP: answer head over 8192 bytes");
}

static void wire_client_head_bytes(struct floe_wsconn *c, floe_time now, const uint8_t *p, size_t n)
{
    char *text = floe_mem_malloc(&c->cfg.alloc, n + 1);

    if (!text) {
        floe__wire_fail(c, FLOE_ERR_NOMEM, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL,
                        "out of memory");
        return;
    }
    memcpy(text, p, n);
    text[n] = '\0';
    if (memchr(p, '\0', n))
        text[0] = '\0'; /* a NUL in the head: malformed */
    wire_client_head(c, now, text);
    floe_mem_free(&c->cfg.alloc, text);
}

void floe__wire_http_input(struct floe_wsconn *c, floe_time now, const uint8_t *p, size_t n)
{
    size_t end, rest;

    if (floe__wire_buf_append(c, &c->head, p, n) < 0) {
        floe__wire_fail(c, FLOE_ERR_NOMEM, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL,
                        "out of memory");
        return;
    }
    if (c->body_wait) { /* a refusal's body, for the error text */
        if (floe__wire_buf_pending(&c->head) >= c->body_wait)
            floe__wire_refusal_done(c, c->head.data + c->head.off, c->body_wait);
        return;
    }
    end = wire_head_end(&c->head, &c->head_scan);
    if ((!end && floe__wire_buf_pending(&c->head) > FLOE_WSCONN_HEAD_MAX) ||
        end > FLOE_WSCONN_HEAD_MAX) {
        wire_head_too_large(c);
        return;
    }
    if (!end)
        return;
    if (c->cfg.role == FLOE_WSCONN_SERVER)
        wire_server_head(c, c->head.data + c->head.off, end);
    else
        wire_client_head_bytes(c, now, c->head.data + c->head.off, end);
    /* What came behind the head: frames (OPEN; a server holds them until it answers) or the
     * start of a refusal's body, which stays in head until it is whole. */
    rest = floe__wire_buf_pending(&c->head) - end;
    memmove(c->head.data, c->head.data + c->head.off + end, rest);
    floe_wipe(c->head.data + rest, c->head.cap - rest); /* the token was in it */
    c->head.off = 0;
    c->head.len = rest;
    c->head_scan = 0;
    if (c->body_wait) {
        if (rest >= c->body_wait)
            floe__wire_refusal_done(c, c->head.data, c->body_wait);
        return;
    }
    if (rest && c->state != FLOE_WSCONN_CLOSED)
        floe__wire_plain_input(c, now, c->head.data, rest);
    floe_wipe(c->head.data, c->head.cap);
    floe_mem_free(&c->cfg.alloc, c->head.data);
    memset(&c->head, 0, sizeof(c->head));
}

void floe__wire_http_free(struct floe_wsconn *c)
{
    if (c->req_token) {
        floe_wipe(c->req_token, strlen(c->req_token));
        floe_mem_free(&c->cfg.alloc, c->req_token);
    }
    if (c->req_buf)
        floe_wipe(c->req_buf, c->req_len);
    floe_mem_free(&c->cfg.alloc, c->req_buf);
    floe_mem_free(&c->cfg.alloc, c->headers);
    c->req_buf = c->req_token = NULL;
    c->headers = NULL;
}
