/* shim_run driven with a fake environment, fake stdio, a fake clock and a fake
 * transport. */
#include "check.h"
#include "buf.h"
#include "cni_command.h"
#include "cni_version.h"
#include "json_scan.h"
#include "podwire/v1/cni.pb-c.h"
#include "shim.h"

#include <errno.h>
#include <stdlib.h>

#define MAX_ENV 16

struct fake {
    /* environment */
    const char *env[MAX_ENV][2];
    /* stdin */
    const char *in;   /* NULL with in_len > 0: that many 'x' bytes */
    size_t in_len, in_off;
    int in_errno;     /* non-zero: read fails with it */
    /* stdout / stderr */
    struct buf out, err;
    int out_errno;    /* non-zero: writing stdout fails with it */
    /* clock */
    uint64_t now;
    int sleeps;
    uint32_t first_sleep, max_sleep;
    /* transport: the first connect_failures calls fail to connect */
    int calls, connect_failures, connect_errno;
    enum call_outcome outcome;
    uint32_t grpc_status;
    const char *grpc_message, *detail;
    /* the reply, packed as the called verb's response type (raw: these bytes as they are) */
    enum { REPLY_EMPTY, REPLY_RESULT, REPLY_ERROR, REPLY_RAW } reply_kind;
    const void *result;
    size_t result_len;
    uint32_t code;
    const char *msg, *details, *version;
    uint8_t raw[16];
    size_t raw_len;
    /* what the transport was given on the last call */
    char socket[256], method[64];
    uint32_t timeout_ms;
    ProtobufCMessage *req_msg;      /* the request as unpacked (AddRequest, DelRequest, ...) */
    const ProtobufCMessageDescriptor *req_type;
    Podwire__V1__CniInvocation *req; /* its invocation */
};

static const struct {
    enum cni_verb verb;
    const ProtobufCMessageDescriptor *request;
} request_types[] = {
    {CNI_VERB_ADD, &podwire__v1__add_request__descriptor},
    {CNI_VERB_DEL, &podwire__v1__del_request__descriptor},
    {CNI_VERB_CHECK, &podwire__v1__check_request__descriptor},
    {CNI_VERB_STATUS, &podwire__v1__status_request__descriptor},
    {CNI_VERB_GC, &podwire__v1__gc_request__descriptor},
    {CNI_VERB_GET, &podwire__v1__get_request__descriptor},
};

/* The verb whose RPC `method` is; CHECKs that there is one. */
static enum cni_verb verb_of(const char *method)
{
    for (size_t i = 0; i < sizeof request_types / sizeof request_types[0]; i++)
        if (strcmp(cni_verb_method(request_types[i].verb), method) == 0)
            return request_types[i].verb;
    CHECK(!"a podwire.v1.Cni method");
    return CNI_VERB_ADD;
}

static void free_request(struct fake *f)
{
    if (f->req_msg)
        protobuf_c_message_free_unpacked(f->req_msg, NULL);
    f->req_msg = NULL;
    f->req_type = NULL;
    f->req = NULL;
}

/* Packs the scripted reply as `verb`'s response message into buf (4096 bytes). */
static size_t pack_reply(const struct fake *f, enum cni_verb verb, uint8_t *buf)
{
    if (f->reply_kind == REPLY_RAW) {
        memcpy(buf, f->raw, f->raw_len);
        return f->raw_len;
    }
    Podwire__V1__CniError e = PODWIRE__V1__CNI_ERROR__INIT;
    e.code = f->code;
    e.msg = (char *)f->msg;
    e.details = (char *)f->details;
    Podwire__V1__CniError *error = f->reply_kind == REPLY_ERROR ? &e : NULL;
    char *version = (char *)(f->version ? f->version : "");
    if (verb == CNI_VERB_ADD || verb == CNI_VERB_GET) {
        /* AddResponse and GetResponse are alike; each is packed as itself. */
        Podwire__V1__AddResponse add;
        Podwire__V1__GetResponse get;
        podwire__v1__add_response__init(&add);
        podwire__v1__get_response__init(&get);
        if (f->reply_kind == REPLY_RESULT) {
            add.outcome_case = PODWIRE__V1__ADD_RESPONSE__OUTCOME_RESULT;
            get.outcome_case = PODWIRE__V1__GET_RESPONSE__OUTCOME_RESULT;
            add.result.data = get.result.data = (uint8_t *)f->result;
            add.result.len = get.result.len = f->result_len;
        } else if (error) {
            add.outcome_case = PODWIRE__V1__ADD_RESPONSE__OUTCOME_ERROR;
            get.outcome_case = PODWIRE__V1__GET_RESPONSE__OUTCOME_ERROR;
            add.error = get.error = error;
        }
        add.cni_version = get.cni_version = version;
        return verb == CNI_VERB_ADD ? podwire__v1__add_response__pack(&add, buf)
                                    : podwire__v1__get_response__pack(&get, buf);
    }
    /* The responses of the verbs that print nothing have no result to carry. */
    CHECK(f->reply_kind != REPLY_RESULT || f->result_len == 0);
    Podwire__V1__DelResponse del = PODWIRE__V1__DEL_RESPONSE__INIT;
    Podwire__V1__CheckResponse check = PODWIRE__V1__CHECK_RESPONSE__INIT;
    Podwire__V1__StatusResponse status = PODWIRE__V1__STATUS_RESPONSE__INIT;
    Podwire__V1__GcResponse gc = PODWIRE__V1__GC_RESPONSE__INIT;
    del.error = check.error = status.error = gc.error = error;
    del.cni_version = check.cni_version = status.cni_version = gc.cni_version = version;
    switch (verb) {
    case CNI_VERB_DEL:
        return podwire__v1__del_response__pack(&del, buf);
    case CNI_VERB_CHECK:
        return podwire__v1__check_response__pack(&check, buf);
    case CNI_VERB_STATUS:
        return podwire__v1__status_response__pack(&status, buf);
    default:
        return podwire__v1__gc_response__pack(&gc, buf);
    }
}

static void fake_setenv(struct fake *f, const char *name, const char *value)
{
    for (int i = 0; i < MAX_ENV; i++)
        if (!f->env[i][0] || strcmp(f->env[i][0], name) == 0) {
            f->env[i][0] = name;
            f->env[i][1] = value;
            return;
        }
}

static const char *fake_getenv(void *ctx, const char *name)
{
    struct fake *f = ctx;
    for (int i = 0; i < MAX_ENV && f->env[i][0]; i++)
        if (strcmp(f->env[i][0], name) == 0)
            return f->env[i][1];
    return NULL;
}

static ssize_t fake_read(void *ctx, void *buf, size_t n)
{
    struct fake *f = ctx;
    if (f->in_errno) {
        errno = f->in_errno;
        return -1;
    }
    size_t left = f->in_len - f->in_off;
    if (n > left)
        n = left;
    if (n > 1000)
        n = 1000; /* short reads, like a pipe */
    if (f->in)
        memcpy(buf, f->in + f->in_off, n);
    else
        memset(buf, 'x', n);
    f->in_off += n;
    return (ssize_t)n;
}

static int fake_write_out(void *ctx, const void *buf, size_t n)
{
    struct fake *f = ctx;
    if (f->out_errno) {
        errno = f->out_errno;
        return -1;
    }
    buf_append(&f->out, buf, n);
    return 0;
}

static int fake_write_err(void *ctx, const void *buf, size_t n)
{
    struct fake *f = ctx;
    buf_append(&f->err, buf, n);
    return 0;
}

static uint64_t fake_now(void *ctx)
{
    return ((struct fake *)ctx)->now;
}

static void fake_sleep(void *ctx, uint32_t ms)
{
    struct fake *f = ctx;
    if (f->sleeps++ == 0)
        f->first_sleep = ms;
    if (ms > f->max_sleep)
        f->max_sleep = ms;
    f->now += ms;
}

static void fake_call(void *ctx, const char *socket_path, const char *method, const uint8_t *req,
                      size_t req_len, uint32_t timeout_ms, struct call_result *out)
{
    struct fake *f = ctx;
    f->calls++;
    f->now += 1; /* connecting takes a moment */
    snprintf(f->socket, sizeof f->socket, "%s", socket_path);
    snprintf(f->method, sizeof f->method, "%s", method);
    f->timeout_ms = timeout_ms;
    if (f->calls <= f->connect_failures) {
        out->outcome = CALL_CONNECT_FAILED;
        out->connect_errno = f->connect_errno;
        return;
    }
    enum cni_verb verb = verb_of(method);
    free_request(f);
    for (size_t i = 0; i < sizeof request_types / sizeof request_types[0]; i++)
        if (request_types[i].verb == verb)
            f->req_type = request_types[i].request;
    f->req_msg = protobuf_c_message_unpack(f->req_type, NULL, req_len, req);
    CHECK(f->req_msg != NULL);
    /* Every request type is { CniInvocation invocation = 1; }. */
    if (f->req_msg)
        f->req = ((Podwire__V1__AddRequest *)f->req_msg)->invocation;
    out->outcome = f->outcome;
    out->grpc_status = f->grpc_status;
    if (f->grpc_message)
        out->grpc_message = strdup(f->grpc_message);
    if (f->detail)
        out->detail = strdup(f->detail);
    if (f->outcome == CALL_COMPLETED && f->grpc_status == 0) {
        out->message = malloc(4096);
        out->message_len = pack_reply(f, verb, out->message);
    }
}

static struct fake *fake_new(const char *command, const char *stdin_text)
{
    struct fake *f = calloc(1, sizeof *f);
    if (command)
        fake_setenv(f, "CNI_COMMAND", command);
    f->in = stdin_text;
    f->in_len = stdin_text ? strlen(stdin_text) : 0;
    f->now = 1000000;
    f->connect_errno = ENOENT;
    return f;
}

static void fake_free(struct fake *f)
{
    buf_free(&f->out);
    buf_free(&f->err);
    free_request(f);
    free(f);
}

static int run(struct fake *f)
{
    const struct shim_io io = {
        .ctx = f,
        .getenv = fake_getenv,
        .read_stdin = fake_read,
        .write_stdout = fake_write_out,
        .write_stderr = fake_write_err,
        .now_ms = fake_now,
        .sleep_ms = fake_sleep,
        .transport = {.ctx = f, .call = fake_call},
    };
    return shim_run(&io);
}

/* A successful reply: the result for ADD and GET (it must be empty for the other verbs). */
static void set_result(struct fake *f, const void *bytes, size_t len, const char *version)
{
    f->reply_kind = REPLY_RESULT;
    f->result = bytes;
    f->result_len = len;
    f->version = version;
}

static void set_error(struct fake *f, uint32_t code, const char *msg, const char *details,
                      const char *version)
{
    f->reply_kind = REPLY_ERROR;
    f->code = code;
    f->msg = msg;
    f->details = details;
    f->version = version;
}

/* Parsed CNI error document printed on stdout. */
struct err_doc {
    struct json_member m[3]; /* cniVersion, msg, details */
    unsigned code;
};

/* Checks stdout holds exactly one CNI error JSON with the given code. */
static void parse_error(const struct fake *f, unsigned code, struct err_doc *d)
{
    memset(d, 0, sizeof *d);
    d->m[0].name = "cniVersion";
    d->m[1].name = "msg";
    d->m[2].name = "details";
    CHECK(f->out.len > 0);
    CHECK(json_scan_top_strings(f->out.data, f->out.len, d->m, 3) == JSON_SCAN_OK);
    const char *c = f->out.data ? strstr((const char *)f->out.data, "\"code\":") : NULL;
    CHECK(c != NULL);
    if (c)
        d->code = (unsigned)strtoul(c + 7, NULL, 10);
    if (d->code != code)
        fprintf(stderr, "  (stdout: %s)\n", (const char *)f->out.data);
    CHECK(d->code == code);
    CHECK(f->out.data && f->out.data[f->out.len - 1] == '\n');
    CHECK(f->err.len > 0); /* a diagnostic line too */
}

static void test_version(void)
{
    struct fake *f = fake_new("VERSION", "{\"cniVersion\":\"0.4.0\",\"name\":\"n\"}");
    CHECK(run(f) == 0);
    /* The list is the server's (generated into CNI_SUPPORTED_VERSIONS_JSON; that it matches
     * SUPPORTED_CNI_VERSIONS is checked in test/src/e2e/versions-agree.test.ts). */
    CHECK_STR((const char *)f->out.data,
              "{\"cniVersion\":\"0.4.0\",\"supportedVersions\":" CNI_SUPPORTED_VERSIONS_JSON "}\n");
    CHECK_CONTAINS(CNI_SUPPORTED_VERSIONS_JSON, "\"0.4.0\"");
    CHECK_CONTAINS(CNI_SUPPORTED_VERSIONS_JSON, "\"" CNI_DEFAULT_VERSION "\"");
    CHECK(f->calls == 0 && f->err.len == 0);
    fake_free(f);

    const char *no_version[] = {"", "{\"name\":\"n\"}", "{\"cniVersion\":1}", "not json",
                                "{\"cniVersion\":\"1.0.0\""};
    for (size_t i = 0; i < sizeof no_version / sizeof no_version[0]; i++) {
        f = fake_new("VERSION", no_version[i]);
        CHECK(run(f) == 0);
        CHECK_CONTAINS((const char *)f->out.data, "{\"cniVersion\":\"" CNI_DEFAULT_VERSION "\",");
        CHECK(f->calls == 0);
        fake_free(f);
    }
    /* The version is echoed JSON-escaped. */
    f = fake_new("VERSION", "{\"cniVersion\":\"9\\\"\\n\"}");
    CHECK(run(f) == 0);
    CHECK_CONTAINS((const char *)f->out.data, "{\"cniVersion\":\"9\\\"\\u000a\",");
    fake_free(f);
}

static void test_bad_command(void)
{
    struct err_doc d;
    struct fake *f = fake_new(NULL, "{\"cniVersion\":\"1.0.0\"}");
    CHECK(run(f) == 1);
    parse_error(f, 4, &d);
    CHECK_STR(d.m[0].value, "1.0.0");
    CHECK_CONTAINS(d.m[2].value, "CNI_COMMAND is not set");
    CHECK(f->calls == 0);
    json_members_free(d.m, 3);
    fake_free(f);

    f = fake_new("", "");
    CHECK(run(f) == 1);
    parse_error(f, 4, &d);
    CHECK_STR(d.m[0].value, "1.1.0");
    json_members_free(d.m, 3);
    fake_free(f);

    f = fake_new("add", "{}");
    CHECK(run(f) == 1);
    parse_error(f, 4, &d);
    CHECK_CONTAINS(d.m[2].value, "CNI_COMMAND=add is not one of");
    CHECK(f->calls == 0);
    json_members_free(d.m, 3);
    fake_free(f);
}

static void test_verbs_and_request(void)
{
    static const char *const verbs[][2] = {
        {"ADD", "/podwire.v1.Cni/Add"}, {"DEL", "/podwire.v1.Cni/Del"},
        {"CHECK", "/podwire.v1.Cni/Check"}, {"STATUS", "/podwire.v1.Cni/Status"},
        {"GC", "/podwire.v1.Cni/Gc"}, {"GET", "/podwire.v1.Cni/Get"},
    };
    const char config[] = "{\"cniVersion\":\"1.1.0\",\"name\":\"caf\xc3\xa9\"}\n";
    for (size_t i = 0; i < 6; i++) {
        struct fake *f = fake_new(verbs[i][0], config);
        fake_setenv(f, "CNI_CONTAINERID", "ctr-1");
        fake_setenv(f, "CNI_NETNS", "/var/run/netns/ns1");
        fake_setenv(f, "CNI_IFNAME", "eth0");
        fake_setenv(f, "CNI_ARGS", "K8S_POD_NAME=p;X=1");
        fake_setenv(f, "CNI_PATH", "/opt/cni/bin:/usr/lib/cni");
        set_result(f, "", 0, "1.1.0");
        CHECK(run(f) == 0);
        CHECK_STR(f->method, verbs[i][1]);
        CHECK(f->req != NULL);
        if (f->req) {
            CHECK_STR(f->req->container_id, "ctr-1");
            CHECK_STR(f->req->netns, "/var/run/netns/ns1");
            CHECK_STR(f->req->ifname, "eth0");
            CHECK_STR(f->req->args, "K8S_POD_NAME=p;X=1");
            CHECK_STR(f->req->path, "/opt/cni/bin:/usr/lib/cni");
            CHECK_MEM(f->req->config.data, f->req->config.len, config, sizeof config - 1);
        }
        CHECK(f->out.len == 0 && f->err.len == 0); /* empty result: print nothing */
        fake_free(f);
    }

    /* Unset variables travel as ""; the server validates them. */
    struct fake *f = fake_new("DEL", "");
    set_result(f, "", 0, "");
    CHECK(run(f) == 0);
    CHECK(f->req && strcmp(f->req->container_id, "") == 0 && strcmp(f->req->netns, "") == 0 &&
          strcmp(f->req->path, "") == 0 && f->req->config.len == 0);
    CHECK(f->timeout_ms == SHIM_DEFAULT_CALL_TIMEOUT_MS);
    fake_free(f);
}

static void test_result_unchanged(void)
{
    const char result[] = "{\"cniVersion\":\"1.1.0\",\"ips\":[]}\0\xff raw \n";
    struct fake *f = fake_new("ADD", "{}");
    set_result(f, result, sizeof result - 1, "1.1.0");
    CHECK(run(f) == 0);
    CHECK_MEM(f->out.data, f->out.len, result, sizeof result - 1);
    CHECK(f->err.len == 0);
    fake_free(f);
}

static void test_error_reply(void)
{
    struct err_doc d;
    struct fake *f = fake_new("ADD", "{\"cniVersion\":\"1.0.0\"}");
    set_error(f, 7, "invalid \"config\"", "line1\nline2\\", "0.4.0");
    CHECK(run(f) == 1);
    parse_error(f, 7, &d);
    CHECK_STR(d.m[0].value, "0.4.0");
    CHECK_STR(d.m[1].value, "invalid \"config\"");
    CHECK_STR(d.m[2].value, "line1\nline2\\");
    json_members_free(d.m, 3);
    fake_free(f);

    /* No version in the reply: the config's, else the default. */
    f = fake_new("ADD", "{\"cniVersion\":\"1.0.0\"}");
    set_error(f, 100, "m", "", "");
    CHECK(run(f) == 1);
    parse_error(f, 100, &d);
    CHECK_STR(d.m[0].value, "1.0.0");
    json_members_free(d.m, 3);
    fake_free(f);

    f = fake_new("ADD", "{}");
    set_error(f, 3, "m", "d", "");
    CHECK(run(f) == 1);
    parse_error(f, 3, &d);
    CHECK_STR(d.m[0].value, "1.1.0");
    json_members_free(d.m, 3);
    fake_free(f);

    /* An ADD or GET reply with neither outcome, and a reply that is not a response. */
    for (int i = 0; i < 2; i++) {
        f = fake_new(i == 0 ? "ADD" : "GET", "{}");
        f->reply_kind = REPLY_EMPTY;
        CHECK(run(f) == 1);
        parse_error(f, 5, &d);
        CHECK_CONTAINS(d.m[2].value, "neither");
        json_members_free(d.m, 3);
        fake_free(f);
    }

    f = fake_new("DEL", "{}");
    f->reply_kind = REPLY_RAW;
    memcpy(f->raw, "\xff\xff\xff", 3);
    f->raw_len = 3;
    CHECK(run(f) == 1);
    parse_error(f, 5, &d);
    CHECK_CONTAINS(d.m[2].value, "not a valid podwire.v1.DelResponse");
    json_members_free(d.m, 3);
    fake_free(f);

    /* DEL, CHECK, STATUS and GC: no error is success (print nothing), an error is printed. */
    static const char *const quiet[] = {"DEL", "CHECK", "STATUS", "GC"};
    for (size_t i = 0; i < 4; i++) {
        f = fake_new(quiet[i], "{\"cniVersion\":\"1.1.0\"}");
        f->reply_kind = REPLY_EMPTY; /* an empty response message */
        CHECK(run(f) == 0);
        CHECK(f->out.len == 0 && f->err.len == 0);
        fake_free(f);

        f = fake_new(quiet[i], "{\"cniVersion\":\"1.1.0\"}");
        set_error(f, 50, "not ready", "reconciling", "1.1.0");
        CHECK(run(f) == 1);
        parse_error(f, 50, &d);
        CHECK_STR(d.m[1].value, "not ready");
        CHECK_STR(d.m[2].value, "reconciling");
        json_members_free(d.m, 3);
        fake_free(f);
    }
}

static void test_retry(void)
{
    struct err_doc d;
    /* Never reachable: retried for the default 5000 ms, then error 11. */
    struct fake *f = fake_new("ADD", "{\"cniVersion\":\"1.0.0\"}");
    f->connect_failures = 1 << 30;
    f->connect_errno = ECONNREFUSED;
    fake_setenv(f, "PODWIRE_SOCKET", "/tmp/x/s.sock");
    uint64_t start = f->now;
    CHECK(run(f) == 1);
    parse_error(f, 11, &d);
    CHECK_STR(d.m[1].value, "podwired is not reachable, try again later");
    CHECK_CONTAINS(d.m[2].value, "/tmp/x/s.sock");
    CHECK_CONTAINS(d.m[2].value, "Connection refused");
    CHECK(f->now - start >= 5000 && f->now - start < 5000 + 250);
    CHECK(f->first_sleep == 20 && f->max_sleep == 200);
    CHECK(f->calls > 10 && f->calls < 60);
    json_members_free(d.m, 3);
    fake_free(f);

    /* A custom bound. */
    f = fake_new("ADD", "{}");
    f->connect_failures = 1 << 30;
    fake_setenv(f, "PODWIRE_RETRY_TIMEOUT_MS", "300");
    start = f->now;
    CHECK(run(f) == 1);
    parse_error(f, 11, &d);
    CHECK(f->now - start >= 300 && f->now - start < 300 + 50);
    json_members_free(d.m, 3);
    fake_free(f);

    /* 0: a single attempt. */
    f = fake_new("ADD", "{}");
    f->connect_failures = 1 << 30;
    fake_setenv(f, "PODWIRE_RETRY_TIMEOUT_MS", "0");
    CHECK(run(f) == 1);
    parse_error(f, 11, &d);
    CHECK(f->calls == 1 && f->sleeps == 0);
    json_members_free(d.m, 3);
    fake_free(f);

    /* The server comes up during the retries. */
    f = fake_new("ADD", "{}");
    f->connect_failures = 3;
    set_result(f, "ok", 2, "");
    CHECK(run(f) == 0);
    CHECK_MEM(f->out.data, f->out.len, "ok", 2);
    CHECK(f->calls == 4 && f->sleeps == 3);
    fake_free(f);

    /* A path that can never work is not retried. */
    f = fake_new("ADD", "{}");
    f->connect_failures = 1 << 30;
    f->connect_errno = ENAMETOOLONG;
    CHECK(run(f) == 1);
    parse_error(f, 11, &d);
    CHECK(f->calls == 1);
    json_members_free(d.m, 3);
    fake_free(f);

    /* A call that reached the server is never repeated. */
    f = fake_new("ADD", "{}");
    f->outcome = CALL_FAILED;
    f->detail = "podwired closed the connection before ending the call";
    CHECK(run(f) == 1);
    parse_error(f, 5, &d);
    CHECK_CONTAINS(d.m[2].value, "closed the connection");
    CHECK(f->calls == 1);
    json_members_free(d.m, 3);
    fake_free(f);
}

static void test_transport_failures(void)
{
    struct err_doc d;
    struct fake *f = fake_new("ADD", "{}");
    f->outcome = CALL_TIMED_OUT;
    fake_setenv(f, "PODWIRE_CALL_TIMEOUT_MS", "300");
    CHECK(run(f) == 1);
    parse_error(f, 11, &d);
    CHECK(f->timeout_ms == 300);
    CHECK_STR(d.m[1].value, "the call to podwired timed out after 300 ms");
    CHECK(f->calls == 1);
    json_members_free(d.m, 3);
    fake_free(f);

    struct {
        uint32_t status;
        unsigned code;
        const char *msg_part;
    } cases[] = {
        {14, 11, "not available"}, {4, 11, "timed out"}, {13, 5, "failed"}, {12, 5, "failed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        f = fake_new("CHECK", "{}");
        f->grpc_status = cases[i].status;
        f->grpc_message = "boom \"x\"";
        CHECK(run(f) == 1);
        parse_error(f, cases[i].code, &d);
        CHECK_CONTAINS(d.m[1].value, cases[i].msg_part);
        CHECK_CONTAINS(d.m[2].value, "boom \"x\"");
        CHECK_CONTAINS(d.m[2].value, "grpc-status");
        CHECK_CONTAINS(d.m[2].value, "/podwire.v1.Cni/Check");
        json_members_free(d.m, 3);
        fake_free(f);
    }
}

static void test_socket_precedence(void)
{
    const char cfg[] = "{\"cniVersion\":\"1.0.0\",\"socket\":\"/cfg.sock\"}";
    struct fake *f = fake_new("ADD", cfg);
    fake_setenv(f, "PODWIRE_SOCKET", "/env.sock");
    set_result(f, "", 0, "");
    CHECK(run(f) == 0);
    CHECK_STR(f->socket, "/env.sock");
    fake_free(f);

    f = fake_new("ADD", cfg);
    fake_setenv(f, "PODWIRE_SOCKET", ""); /* empty counts as unset */
    set_result(f, "", 0, "");
    CHECK(run(f) == 0);
    CHECK_STR(f->socket, "/cfg.sock");
    fake_free(f);

    f = fake_new("ADD", "{\"socket\":\"\",\"plugins\":[{\"socket\":\"/nested\"}]}");
    set_result(f, "", 0, "");
    CHECK(run(f) == 0);
    CHECK_STR(f->socket, SHIM_DEFAULT_SOCKET);
    fake_free(f);

    f = fake_new("ADD", "{\"socket\":\"/cfg.sock\""); /* malformed: ignored */
    set_result(f, "", 0, "");
    CHECK(run(f) == 0);
    CHECK_STR(f->socket, SHIM_DEFAULT_SOCKET);
    fake_free(f);

    struct err_doc d;
    f = fake_new("ADD", "{\"socket\":\"/a\\u0000b\"}");
    CHECK(run(f) == 1);
    parse_error(f, 7, &d);
    CHECK(f->calls == 0);
    json_members_free(d.m, 3);
    fake_free(f);
}

static void test_env_and_stdin_problems(void)
{
    struct err_doc d;
    const char *bad[][2] = {
        {"PODWIRE_CALL_TIMEOUT_MS", "0"}, {"PODWIRE_CALL_TIMEOUT_MS", "soon"},
        {"PODWIRE_RETRY_TIMEOUT_MS", "-1"}, {"PODWIRE_RETRY_TIMEOUT_MS", "86400001"},
    };
    for (size_t i = 0; i < 4; i++) {
        struct fake *f = fake_new("ADD", "{}");
        fake_setenv(f, bad[i][0], bad[i][1]);
        CHECK(run(f) == 1);
        parse_error(f, 4, &d);
        CHECK_CONTAINS(d.m[2].value, bad[i][0]);
        CHECK(f->calls == 0);
        json_members_free(d.m, 3);
        fake_free(f);
    }

    /* Exactly 16 MiB is fine, one byte more is not. */
    struct fake *f = fake_new("ADD", NULL);
    f->in_len = SHIM_MAX_CONFIG_BYTES;
    set_result(f, "", 0, "");
    CHECK(run(f) == 0);
    CHECK(f->req && f->req->config.len == SHIM_MAX_CONFIG_BYTES);
    fake_free(f);

    f = fake_new("ADD", NULL);
    f->in_len = SHIM_MAX_CONFIG_BYTES + 1;
    CHECK(run(f) == 1);
    parse_error(f, 6, &d);
    CHECK_STR(d.m[1].value, "network configuration larger than 16 MiB");
    CHECK(f->calls == 0);
    json_members_free(d.m, 3);
    fake_free(f);

    f = fake_new("ADD", "{}");
    f->in_errno = EIO;
    CHECK(run(f) == 1);
    parse_error(f, 5, &d);
    CHECK_CONTAINS(d.m[2].value, "stdin");
    json_members_free(d.m, 3);
    fake_free(f);

    /* stdout failing turns success into exit 1 with a diagnostic. */
    f = fake_new("ADD", "{}");
    set_result(f, "{}", 2, "");
    f->out_errno = EPIPE;
    CHECK(run(f) == 1);
    CHECK_CONTAINS((const char *)f->err.data, "stdout");
    fake_free(f);
}

int main(void)
{
    test_version();
    test_bad_command();
    test_verbs_and_request();
    test_result_unchanged();
    test_error_reply();
    test_retry();
    test_transport_failures();
    test_socket_precedence();
    test_env_and_stdin_problems();
    return check_report("test_shim_run");
}
