/* Protobuf encoding of the podwire.v1.Cni requests (AddRequest, DelRequest, ... each
 * carrying one CniInvocation) and decoding of their responses (AddResponse, DelResponse,
 * ...), wrapping the protobuf-c code generated from proto/podwire/v1/cni.proto, so the rest
 * of the shim works with plain C structs. */
#ifndef PODWIRE_CNI_CODEC_H
#define PODWIRE_CNI_CODEC_H

#include "cni_command.h"

#include <stddef.h>
#include <stdint.h>

/* podwire.v1.CniInvocation: what the runtime gave the shim (the verb is the RPC). */
struct cni_request {
    const char *container_id; /* CNI_CONTAINERID */
    const char *netns;        /* CNI_NETNS */
    const char *ifname;       /* CNI_IFNAME */
    const char *args;         /* CNI_ARGS */
    const char *path;         /* CNI_PATH */
    const uint8_t *config;    /* stdin, unchanged */
    size_t config_len;
};

/* Serializes the verb's request message with req as its invocation into a malloc'd
 * buffer. Returns 0, or -1 when out of memory. */
int cni_request_encode(enum cni_verb verb, const struct cni_request *req, uint8_t **out,
                       size_t *out_len);

enum cni_reply_kind {
    CNI_REPLY_NONE,   /* neither a result nor an error (ADD and GET must answer one) */
    CNI_REPLY_RESULT, /* success: print `result` (empty for DEL, CHECK, STATUS and GC) */
    CNI_REPLY_ERROR,
};

struct cni_reply {
    enum cni_reply_kind kind;
    const uint8_t *result; /* CNI_REPLY_RESULT: bytes to print (may be empty) */
    size_t result_len;
    uint32_t code; /* CNI_REPLY_ERROR */
    const char *msg;
    const char *details;
    const char *cni_version; /* "" when the server sent none */
    void *owner;             /* the unpacked protobuf message the pointers refer to */
};

/* Parses the verb's response message. Returns 0, or -1 when the bytes are not a valid
 * message of that type (or out of memory). Release a successful decode with
 * cni_reply_free. */
int cni_reply_decode(enum cni_verb verb, const uint8_t *data, size_t len, struct cni_reply *out);
void cni_reply_free(struct cni_reply *reply);

/* The verb's response message type, for diagnostics ("podwire.v1.AddResponse", ...). */
const char *cni_reply_type_name(enum cni_verb verb);

#endif
