/* CNI_COMMAND values and the podwire.v1.Cni RPC each one is forwarded to. */
#ifndef PODWIRE_CNI_COMMAND_H
#define PODWIRE_CNI_COMMAND_H

#include <stdbool.h>

/* True for "VERSION", which the shim answers itself. */
bool cni_command_is_version(const char *command);

/* The gRPC method path ("/podwire.v1.Cni/Add", ...) for ADD, DEL, CHECK,
 * STATUS, GC and GET (exact, upper case); NULL for anything else. */
const char *cni_command_method(const char *command);

#endif
