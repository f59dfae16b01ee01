#include "check.h"
#include "cni_codec.h"
#include "podwire/v1/cni.pb-c.h"

#include <stdlib.h>

static const enum cni_verb all_verbs[] = {CNI_VERB_ADD, CNI_VERB_DEL, CNI_VERB_CHECK,
                                          CNI_VERB_STATUS, CNI_VERB_GC, CNI_VERB_GET};

static const ProtobufCMessageDescriptor *request_type(enum cni_verb verb)
{
    switch (verb) {
    case CNI_VERB_ADD: return &podwire__v1__add_request__descriptor;
    case CNI_VERB_DEL: return &podwire__v1__del_request__descriptor;
    case CNI_VERB_CHECK: return &podwire__v1__check_request__descriptor;
    case CNI_VERB_STATUS: return &podwire__v1__status_request__descriptor;
    case CNI_VERB_GC: return &podwire__v1__gc_request__descriptor;
    case CNI_VERB_GET: return &podwire__v1__get_request__descriptor;
    }
    return NULL;
}

static void test_requests(void)
{
    /* Each verb's request round-trips through its generated decoder, the invocation unchanged. */
    const uint8_t config[] = "{\"cniVersion\":\"1.1.0\"}\0\xff\xc3\xa9";
    struct cni_request req = {
        .container_id = "c1", .netns = "/var/run/netns/x", .ifname = "eth0",
        .args = "K=V;A=B", .path = "/opt/cni/bin:/x", .config = config, .config_len = sizeof config - 1,
    };
    for (size_t i = 0; i < sizeof all_verbs / sizeof all_verbs[0]; i++) {
        uint8_t *bytes = NULL;
        size_t len = 0;
        CHECK(cni_request_encode(all_verbs[i], &req, &bytes, &len) == 0);
        ProtobufCMessage *m = protobuf_c_message_unpack(request_type(all_verbs[i]), NULL, len, bytes);
        CHECK(m != NULL);
        if (m) {
            /* Every request type is { CniInvocation invocation = 1; }. */
            const Podwire__V1__CniInvocation *inv = ((Podwire__V1__AddRequest *)m)->invocation;
            CHECK(inv != NULL);
            if (inv) {
                CHECK_STR(inv->container_id, "c1");
                CHECK_STR(inv->netns, "/var/run/netns/x");
                CHECK_STR(inv->ifname, "eth0");
                CHECK_STR(inv->args, "K=V;A=B");
                CHECK_STR(inv->path, "/opt/cni/bin:/x");
                CHECK_MEM(inv->config.data, inv->config.len, config, sizeof config - 1);
            }
            protobuf_c_message_free_unpacked(m, NULL);
        }
        free(bytes);
    }

    /* Field 1 of a CniInvocation is reserved (it was CNI_COMMAND): the shim never sends it. */
    uint8_t *bytes = NULL;
    size_t len = 0;
    CHECK(cni_request_encode(CNI_VERB_ADD, &req, &bytes, &len) == 0);
    CHECK(len > 2 && bytes[0] == 0x0a);      /* AddRequest field 1 (invocation), length-delimited */
    CHECK(len > 2 && bytes[2] == (2 << 3 | 2)); /* its first field is 2 (container_id) */
    free(bytes);

    /* Empty strings and NULLs encode as empty; the invocation is still sent (0a 00). */
    struct cni_request empty = {0};
    CHECK(cni_request_encode(CNI_VERB_DEL, &empty, &bytes, &len) == 0);
    CHECK_MEM(bytes, len, "\x0a\x00", 2);
    free(bytes);
}

static void test_result_replies(void)
{
    struct cni_reply r;
    uint8_t packed[256];
    size_t len;
    /* (The generated *_INIT macro for a oneof trips -Wmissing-braces; init() does not.) */
    Podwire__V1__AddResponse reply;
    podwire__v1__add_response__init(&reply);
    reply.outcome_case = PODWIRE__V1__ADD_RESPONSE__OUTCOME_RESULT;
    reply.result.data = (uint8_t *)"{\"ips\":[]}";
    reply.result.len = 10;
    reply.cni_version = "1.0.0";
    len = podwire__v1__add_response__pack(&reply, packed);
    CHECK(cni_reply_decode(CNI_VERB_ADD, packed, len, &r) == 0);
    CHECK(r.kind == CNI_REPLY_RESULT);
    CHECK_MEM(r.result, r.result_len, "{\"ips\":[]}", 10);
    CHECK_STR(r.cni_version, "1.0.0");
    cni_reply_free(&r);
    CHECK(r.owner == NULL);

    /* An empty result is still a result. */
    reply.result.len = 0;
    reply.cni_version = "";
    len = podwire__v1__add_response__pack(&reply, packed);
    CHECK(cni_reply_decode(CNI_VERB_ADD, packed, len, &r) == 0);
    CHECK(r.kind == CNI_REPLY_RESULT && r.result_len == 0);
    CHECK_STR(r.cni_version, "");
    cni_reply_free(&r);

    /* An error reply (GET). */
    Podwire__V1__CniError err = PODWIRE__V1__CNI_ERROR__INIT;
    err.code = 7;
    err.msg = "bad config";
    err.details = "field x";
    Podwire__V1__GetResponse get;
    podwire__v1__get_response__init(&get);
    get.outcome_case = PODWIRE__V1__GET_RESPONSE__OUTCOME_ERROR;
    get.error = &err;
    get.cni_version = "0.4.0";
    len = podwire__v1__get_response__pack(&get, packed);
    CHECK(cni_reply_decode(CNI_VERB_GET, packed, len, &r) == 0);
    CHECK(r.kind == CNI_REPLY_ERROR && r.code == 7);
    CHECK_STR(r.msg, "bad config");
    CHECK_STR(r.details, "field x");
    CHECK_STR(r.cni_version, "0.4.0");
    cni_reply_free(&r);

    /* Neither outcome. */
    CHECK(cni_reply_decode(CNI_VERB_ADD, (const uint8_t *)"", 0, &r) == 0);
    CHECK(r.kind == CNI_REPLY_NONE);
    cni_reply_free(&r);
    CHECK(cni_reply_decode(CNI_VERB_GET, (const uint8_t *)"", 0, &r) == 0);
    CHECK(r.kind == CNI_REPLY_NONE);
    cni_reply_free(&r);
}

static void test_void_replies(void)
{
    struct cni_reply r;
    uint8_t packed[256];
    size_t len;
    /* DEL, CHECK, STATUS, GC: nothing (or only a version) is success with nothing to print. */
    for (size_t i = 0; i < sizeof all_verbs / sizeof all_verbs[0]; i++) {
        enum cni_verb verb = all_verbs[i];
        if (verb == CNI_VERB_ADD || verb == CNI_VERB_GET)
            continue;
        CHECK(cni_reply_decode(verb, (const uint8_t *)"", 0, &r) == 0);
        CHECK(r.kind == CNI_REPLY_RESULT && r.result_len == 0 && r.result != NULL);
        CHECK_STR(r.cni_version, "");
        cni_reply_free(&r);
    }

    Podwire__V1__DelResponse del = PODWIRE__V1__DEL_RESPONSE__INIT;
    del.cni_version = "1.1.0";
    len = podwire__v1__del_response__pack(&del, packed);
    CHECK(cni_reply_decode(CNI_VERB_DEL, packed, len, &r) == 0);
    CHECK(r.kind == CNI_REPLY_RESULT && r.result_len == 0);
    CHECK_STR(r.cni_version, "1.1.0");
    cni_reply_free(&r);

    Podwire__V1__CniError err = PODWIRE__V1__CNI_ERROR__INIT;
    err.code = 50;
    err.msg = "not ready";
    Podwire__V1__StatusResponse status = PODWIRE__V1__STATUS_RESPONSE__INIT;
    status.error = &err;
    status.cni_version = "1.1.0";
    len = podwire__v1__status_response__pack(&status, packed);
    CHECK(cni_reply_decode(CNI_VERB_STATUS, packed, len, &r) == 0);
    CHECK(r.kind == CNI_REPLY_ERROR && r.code == 50);
    CHECK_STR(r.msg, "not ready");
    CHECK_STR(r.details, "");
    CHECK_STR(r.cni_version, "1.1.0");
    cni_reply_free(&r);
}

static void test_garbage(void)
{
    struct cni_reply r;
    for (size_t i = 0; i < sizeof all_verbs / sizeof all_verbs[0]; i++) {
        CHECK(cni_reply_decode(all_verbs[i], (const uint8_t *)"\x12\x05" "ab", 4, &r) != 0); /* truncated */
        CHECK(cni_reply_decode(all_verbs[i], (const uint8_t *)"\xff\xff\xff", 3, &r) != 0);
        CHECK(r.owner == NULL);
        cni_reply_free(&r);
    }
    CHECK_STR(cni_reply_type_name(CNI_VERB_ADD), "podwire.v1.AddResponse");
    CHECK_STR(cni_reply_type_name(CNI_VERB_GC), "podwire.v1.GcResponse");
}

int main(void)
{
    test_requests();
    test_result_replies();
    test_void_replies();
    test_garbage();
    return check_report("test_cni_codec");
}
