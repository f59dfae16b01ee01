/* The answer to CNI_COMMAND=VERSION, which the shim gives without the server. */
#ifndef PODWIRE_CNI_VERSION_H
#define PODWIRE_CNI_VERSION_H

#include "buf.h"

#include <stddef.h>

/* The version used when the configuration names none. */
#define CNI_DEFAULT_VERSION "1.1.0"

/* Appends {"cniVersion":<version>,"supportedVersions":[...]} plus a newline;
 * version is the request configuration's cniVersion (n bytes, may be any text). */
void cni_version_json(struct buf *out, const char *version, size_t n);

#endif
