#include "cni_error.h"

#include "json_write.h"

void cni_error_json(struct buf *out, const char *cni_version, uint32_t code,
                    const char *msg, const char *details)
{
    buf_append_str(out, "{\"cniVersion\":");
    json_write_cstr(out, cni_version);
    buf_append_str(out, ",\"code\":");
    buf_append_uint(out, code);
    buf_append_str(out, ",\"msg\":");
    json_write_cstr(out, msg);
    buf_append_str(out, ",\"details\":");
    json_write_cstr(out, details);
    buf_append_str(out, "}\n");
}
