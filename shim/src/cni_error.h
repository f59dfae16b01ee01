/* CNI error codes the shim produces itself, and the CNI error JSON document. */
#ifndef PODWIRE_CNI_ERROR_H
#define PODWIRE_CNI_ERROR_H

#include "buf.h"

#include <stdint.h>

/* Well-known codes from the CNI spec (1.1.0, "Error" section). */
enum cni_error_code {
    CNI_ERR_INCOMPATIBLE_VERSION = 1,
    CNI_ERR_UNSUPPORTED_FIELD = 2,
    CNI_ERR_UNKNOWN_CONTAINER = 3,
    CNI_ERR_INVALID_ENV = 4,
    CNI_ERR_IO = 5,
    CNI_ERR_DECODE = 6,
    CNI_ERR_INVALID_CONFIG = 7,
    CNI_ERR_TRY_AGAIN = 11,
};

/* Appends {"cniVersion":..,"code":..,"msg":..,"details":..} plus a newline.
 * All strings are JSON-escaped; NULL strings are written as "". */
void cni_error_json(struct buf *out, const char *cni_version, uint32_t code,
                    const char *msg, const char *details);

#endif
