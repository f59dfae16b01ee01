#include "cni_codec.h"

#include "podwire/v1/cni.pb-c.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* protobuf-c's string fields are `char *` but packing never writes to them. */
static char *field(const char *s)
{
    return (char *)(s ? s : "");
}

static int pack(const ProtobufCMessage *msg, uint8_t **out, size_t *out_len)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *data = malloc(len ? len : 1);
    if (!data)
        return -1;
    *out_len = protobuf_c_message_pack(msg, data);
    *out = data;
    return 0;
}

int cni_request_encode(enum cni_verb verb, const struct cni_request *req, uint8_t **out,
                       size_t *out_len)
{
    Podwire__V1__CniInvocation inv = PODWIRE__V1__CNI_INVOCATION__INIT;
    inv.container_id = field(req->container_id);
    inv.netns = field(req->netns);
    inv.ifname = field(req->ifname);
    inv.args = field(req->args);
    inv.path = field(req->path);
    inv.config.data = (uint8_t *)req->config;
    inv.config.len = req->config_len;

    /* Every request is the invocation alone, each in its own message type. */
    Podwire__V1__AddRequest add = PODWIRE__V1__ADD_REQUEST__INIT;
    Podwire__V1__DelRequest del = PODWIRE__V1__DEL_REQUEST__INIT;
    Podwire__V1__CheckRequest check = PODWIRE__V1__CHECK_REQUEST__INIT;
    Podwire__V1__StatusRequest status = PODWIRE__V1__STATUS_REQUEST__INIT;
    Podwire__V1__GcRequest gc = PODWIRE__V1__GC_REQUEST__INIT;
    Podwire__V1__GetRequest get = PODWIRE__V1__GET_REQUEST__INIT;
    switch (verb) {
    case CNI_VERB_ADD:
        add.invocation = &inv;
        return pack(&add.base, out, out_len);
    case CNI_VERB_DEL:
        del.invocation = &inv;
        return pack(&del.base, out, out_len);
    case CNI_VERB_CHECK:
        check.invocation = &inv;
        return pack(&check.base, out, out_len);
    case CNI_VERB_STATUS:
        status.invocation = &inv;
        return pack(&status.base, out, out_len);
    case CNI_VERB_GC:
        gc.invocation = &inv;
        return pack(&gc.base, out, out_len);
    case CNI_VERB_GET:
        get.invocation = &inv;
        return pack(&get.base, out, out_len);
    }
    return -1;
}

static const ProtobufCMessageDescriptor *reply_descriptor(enum cni_verb verb)
{
    switch (verb) {
    case CNI_VERB_ADD:
        return &podwire__v1__add_response__descriptor;
    case CNI_VERB_DEL:
        return &podwire__v1__del_response__descriptor;
    case CNI_VERB_CHECK:
        return &podwire__v1__check_response__descriptor;
    case CNI_VERB_STATUS:
        return &podwire__v1__status_response__descriptor;
    case CNI_VERB_GC:
        return &podwire__v1__gc_response__descriptor;
    case CNI_VERB_GET:
        return &podwire__v1__get_response__descriptor;
    }
    return NULL;
}

const char *cni_reply_type_name(enum cni_verb verb)
{
    const ProtobufCMessageDescriptor *d = reply_descriptor(verb);
    return d ? d->name : "(unknown)";
}

static void set_error(struct cni_reply *out, const Podwire__V1__CniError *error)
{
    out->kind = CNI_REPLY_ERROR;
    out->code = error->code;
    out->msg = error->msg ? error->msg : "";
    out->details = error->details ? error->details : "";
}

/* ADD and GET: the oneof holds the result or the error; neither is CNI_REPLY_NONE. */
static void from_result_reply(struct cni_reply *out, bool is_result, ProtobufCBinaryData result,
                              const Podwire__V1__CniError *error)
{
    if (is_result) {
        out->kind = CNI_REPLY_RESULT;
        out->result = result.data ? result.data : (const uint8_t *)"";
        out->result_len = result.len;
    } else if (error) {
        set_error(out, error);
    } else {
        out->kind = CNI_REPLY_NONE;
    }
}

/* DEL, CHECK, STATUS and GC: success prints nothing, so no error is success. */
static void from_void_reply(struct cni_reply *out, const Podwire__V1__CniError *error)
{
    if (error) {
        set_error(out, error);
    } else {
        out->kind = CNI_REPLY_RESULT;
        out->result = (const uint8_t *)"";
        out->result_len = 0;
    }
}

int cni_reply_decode(enum cni_verb verb, const uint8_t *data, size_t len, struct cni_reply *out)
{
    memset(out, 0, sizeof *out);
    const ProtobufCMessageDescriptor *d = reply_descriptor(verb);
    if (!d)
        return -1;
    ProtobufCMessage *msg = protobuf_c_message_unpack(d, NULL, len, data);
    if (!msg)
        return -1;
    out->owner = msg;
    const char *version = NULL;
    switch (verb) {
    case CNI_VERB_ADD: {
        const Podwire__V1__AddResponse *m = (const Podwire__V1__AddResponse *)msg;
        from_result_reply(out, m->outcome_case == PODWIRE__V1__ADD_RESPONSE__OUTCOME_RESULT, m->result,
                          m->outcome_case == PODWIRE__V1__ADD_RESPONSE__OUTCOME_ERROR ? m->error : NULL);
        version = m->cni_version;
        break;
    }
    case CNI_VERB_GET: {
        const Podwire__V1__GetResponse *m = (const Podwire__V1__GetResponse *)msg;
        from_result_reply(out, m->outcome_case == PODWIRE__V1__GET_RESPONSE__OUTCOME_RESULT, m->result,
                          m->outcome_case == PODWIRE__V1__GET_RESPONSE__OUTCOME_ERROR ? m->error : NULL);
        version = m->cni_version;
        break;
    }
    case CNI_VERB_DEL: {
        const Podwire__V1__DelResponse *m = (const Podwire__V1__DelResponse *)msg;
        from_void_reply(out, m->error);
        version = m->cni_version;
        break;
    }
    case CNI_VERB_CHECK: {
        const Podwire__V1__CheckResponse *m = (const Podwire__V1__CheckResponse *)msg;
        from_void_reply(out, m->error);
        version = m->cni_version;
        break;
    }
    case CNI_VERB_STATUS: {
        const Podwire__V1__StatusResponse *m = (const Podwire__V1__StatusResponse *)msg;
        from_void_reply(out, m->error);
        version = m->cni_version;
        break;
    }
    case CNI_VERB_GC: {
        const Podwire__V1__GcResponse *m = (const Podwire__V1__GcResponse *)msg;
        from_void_reply(out, m->error);
        version = m->cni_version;
        break;
    }
    }
    out->cni_version = version ? version : "";
    return 0;
}

void cni_reply_free(struct cni_reply *reply)
{
    if (reply->owner)
        protobuf_c_message_free_unpacked(reply->owner, NULL);
    memset(reply, 0, sizeof *reply);
}
