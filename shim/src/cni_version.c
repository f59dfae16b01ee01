#include "cni_version.h"

#include "json_write.h"

void cni_version_json(struct buf *out, const char *version, size_t n)
{
    buf_append_str(out, "{\"cniVersion\":");
    json_write_string(out, version, n);
    buf_append_str(out, ",\"supportedVersions\":" CNI_SUPPORTED_VERSIONS_JSON "}\n");
}
