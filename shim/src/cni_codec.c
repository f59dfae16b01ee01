#include "cni_codec.h"

#include "podwire/v1/cni.pb-c.h"

#include <stdlib.h>
#include <string.h>

/* protobuf-c's string fields are `char *` but packing never writes to them. */
static char *field(const char *s)
{
    return (char *)(s ? s : "");
}

int cni_request_encode(const struct cni_request *req, uint8_t **out, size_t *out_len)
{
    Podwire__V1__CniRequest msg = PODWIRE__V1__CNI_REQUEST__INIT;
    msg.command = field(req->command);
    msg.container_id = field(req->container_id);
    msg.netns = field(req->netns);
    msg.ifname = field(req->ifname);
    msg.args = field(req->args);
    msg.path = field(req->path);
    msg.config.data = (uint8_t *)req->config;
    msg.config.len = req->config_len;

    size_t len = podwire__v1__cni_request__get_packed_size(&msg);
    uint8_t *data = malloc(len ? len : 1);
    if (!data)
        return -1;
    *out_len = podwire__v1__cni_request__pack(&msg, data);
    *out = data;
    return 0;
}

int cni_reply_decode(const uint8_t *data, size_t len, struct cni_reply *out)
{
    memset(out, 0, sizeof *out);
    Podwire__V1__CniReply *msg = podwire__v1__cni_reply__unpack(NULL, len, data);
    if (!msg)
        return -1;
    out->owner = msg;
    out->cni_version = msg->cni_version ? msg->cni_version : "";
    switch (msg->outcome_case) {
    case PODWIRE__V1__CNI_REPLY__OUTCOME_RESULT:
        out->kind = CNI_REPLY_RESULT;
        out->result = msg->result.data;
        out->result_len = msg->result.len;
        break;
    case PODWIRE__V1__CNI_REPLY__OUTCOME_ERROR:
        if (!msg->error)
            break;
        out->kind = CNI_REPLY_ERROR;
        out->code = msg->error->code;
        out->msg = msg->error->msg ? msg->error->msg : "";
        out->details = msg->error->details ? msg->error->details : "";
        break;
    default:
        out->kind = CNI_REPLY_NONE;
        break;
    }
    return 0;
}

void cni_reply_free(struct cni_reply *reply)
{
    if (reply->owner)
        podwire__v1__cni_reply__free_unpacked(reply->owner, NULL);
    memset(reply, 0, sizeof *reply);
}
