/* The answer to CNI_COMMAND=VERSION, which the shim gives without the server. */
#ifndef PODWIRE_CNI_VERSION_H
#define PODWIRE_CNI_VERSION_H

#include "buf.h"
/* Generated at build time from the server's SUPPORTED_CNI_VERSIONS and LATEST_CNI_VERSION
 * (server/src/cni/cni-versions.ts): CNI_SUPPORTED_VERSIONS_JSON, CNI_LATEST_VERSION. */
#include "supported_cni_versions.h"

#include <stddef.h>

/* The version used when the configuration names none: the server's LATEST_CNI_VERSION. */
#define CNI_DEFAULT_VERSION CNI_LATEST_VERSION

/* Appends {"cniVersion":<version>,"supportedVersions":[...]} plus a newline;
 * version is the request configuration's cniVersion (n bytes, may be any text). */
void cni_version_json(struct buf *out, const char *version, size_t n);

#endif
