/* Parsing the shim's own numeric environment settings. */
#ifndef PODWIRE_ENV_H
#define PODWIRE_ENV_H

#include <stdbool.h>
#include <stdint.h>

/* Environment variables the shim reads besides the CNI_* ones. */
#define ENV_SOCKET "PODWIRE_SOCKET"
#define ENV_RETRY_TIMEOUT_MS "PODWIRE_RETRY_TIMEOUT_MS"
#define ENV_CALL_TIMEOUT_MS "PODWIRE_CALL_TIMEOUT_MS"

/* Parses a whole number of milliseconds (decimal digits only, no sign or
 * spaces) in [min, max]. NULL or "" yields def. Returns false when invalid. */
bool env_parse_ms(const char *text, uint32_t def, uint32_t min, uint32_t max, uint32_t *out);

#endif
