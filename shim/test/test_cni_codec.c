#include "check.h"
#include "cni_codec.h"
#include "podwire/v1/cni.pb-c.h"

#include <stdlib.h>

int main(void)
{
    /* The request round-trips through the generated decoder. */
    const uint8_t config[] = "{\"cniVersion\":\"1.1.0\"}\0\xff\xc3\xa9";
    struct cni_request req = {
        .command = "ADD", .container_id = "c1", .netns = "/var/run/netns/x", .ifname = "eth0",
        .args = "K=V;A=B", .path = "/opt/cni/bin:/x", .config = config, .config_len = sizeof config - 1,
    };
    uint8_t *bytes = NULL;
    size_t len = 0;
    CHECK(cni_request_encode(&req, &bytes, &len) == 0);
    Podwire__V1__CniRequest *m = podwire__v1__cni_request__unpack(NULL, len, bytes);
    CHECK(m != NULL);
    if (m) {
        CHECK_STR(m->command, "ADD");
        CHECK_STR(m->container_id, "c1");
        CHECK_STR(m->netns, "/var/run/netns/x");
        CHECK_STR(m->ifname, "eth0");
        CHECK_STR(m->args, "K=V;A=B");
        CHECK_STR(m->path, "/opt/cni/bin:/x");
        CHECK_MEM(m->config.data, m->config.len, config, sizeof config - 1);
        podwire__v1__cni_request__free_unpacked(m, NULL);
    }
    free(bytes);

    /* Empty strings and NULLs encode as empty; an all-default request is 0 bytes. */
    struct cni_request empty = {0};
    CHECK(cni_request_encode(&empty, &bytes, &len) == 0);
    CHECK(len == 0);
    free(bytes);

    /* A result reply. */
    struct cni_reply r;
    /* (The generated *_INIT macro for a oneof trips -Wmissing-braces; init() does not.) */
    Podwire__V1__CniReply reply;
    podwire__v1__cni_reply__init(&reply);
    reply.outcome_case = PODWIRE__V1__CNI_REPLY__OUTCOME_RESULT;
    reply.result.data = (uint8_t *)"{\"ips\":[]}";
    reply.result.len = 10;
    reply.cni_version = "1.0.0";
    uint8_t packed[256];
    len = podwire__v1__cni_reply__pack(&reply, packed);
    CHECK(cni_reply_decode(packed, len, &r) == 0);
    CHECK(r.kind == CNI_REPLY_RESULT);
    CHECK_MEM(r.result, r.result_len, "{\"ips\":[]}", 10);
    CHECK_STR(r.cni_version, "1.0.0");
    cni_reply_free(&r);
    CHECK(r.owner == NULL);

    /* An empty result is still a result. */
    reply.result.len = 0;
    reply.cni_version = "";
    len = podwire__v1__cni_reply__pack(&reply, packed);
    CHECK(cni_reply_decode(packed, len, &r) == 0);
    CHECK(r.kind == CNI_REPLY_RESULT && r.result_len == 0);
    CHECK_STR(r.cni_version, "");
    cni_reply_free(&r);

    /* An error reply. */
    Podwire__V1__CniError err = PODWIRE__V1__CNI_ERROR__INIT;
    err.code = 7;
    err.msg = "bad config";
    err.details = "field x";
    reply.outcome_case = PODWIRE__V1__CNI_REPLY__OUTCOME_ERROR;
    reply.error = &err;
    reply.cni_version = "0.4.0";
    len = podwire__v1__cni_reply__pack(&reply, packed);
    CHECK(cni_reply_decode(packed, len, &r) == 0);
    CHECK(r.kind == CNI_REPLY_ERROR && r.code == 7);
    CHECK_STR(r.msg, "bad config");
    CHECK_STR(r.details, "field x");
    CHECK_STR(r.cni_version, "0.4.0");
    cni_reply_free(&r);

    /* Neither outcome. */
    CHECK(cni_reply_decode((const uint8_t *)"", 0, &r) == 0);
    CHECK(r.kind == CNI_REPLY_NONE);
    cni_reply_free(&r);

    /* Garbage is rejected. */
    CHECK(cni_reply_decode((const uint8_t *)"\x0a\x05" "ab", 4, &r) != 0); /* truncated */
    CHECK(cni_reply_decode((const uint8_t *)"\xff\xff\xff", 3, &r) != 0);
    cni_reply_free(&r);

    return check_report("test_cni_codec");
}
