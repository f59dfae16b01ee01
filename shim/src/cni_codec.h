/* Protobuf encoding of podwire.v1.CniRequest and decoding of podwire.v1.CniReply
 * (wrapping the protobuf-c code generated from proto/podwire/v1/cni.proto), so
 * the rest of the shim works with plain C structs. */
#ifndef PODWIRE_CNI_CODEC_H
#define PODWIRE_CNI_CODEC_H

#include <stddef.h>
#include <stdint.h>

struct cni_request {
    const char *command;      /* CNI_COMMAND */
    const char *container_id; /* CNI_CONTAINERID */
    const char *netns;        /* CNI_NETNS */
    const char *ifname;       /* CNI_IFNAME */
    const char *args;         /* CNI_ARGS */
    const char *path;         /* CNI_PATH */
    const uint8_t *config;    /* stdin, unchanged */
    size_t config_len;
};

/* Serializes req into a malloc'd buffer. Returns 0, or -1 when out of memory. */
int cni_request_encode(const struct cni_request *req, uint8_t **out, size_t *out_len);

enum cni_reply_kind { CNI_REPLY_NONE, CNI_REPLY_RESULT, CNI_REPLY_ERROR };

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

/* Parses a CniReply. Returns 0, or -1 when the bytes are not a valid CniReply
 * (or out of memory). Release a successful decode with cni_reply_free. */
int cni_reply_decode(const uint8_t *data, size_t len, struct cni_reply *out);
void cni_reply_free(struct cni_reply *reply);

#endif
