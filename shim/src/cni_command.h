/* CNI_COMMAND values and the podwire.v1.Cni RPC each one is forwarded to. */
#ifndef PODWIRE_CNI_COMMAND_H
#define PODWIRE_CNI_COMMAND_H

#include <stdbool.h>

/* The verbs forwarded to podwired: one podwire.v1.Cni RPC (and request and response
 * message) each. */
enum cni_verb { CNI_VERB_ADD, CNI_VERB_DEL, CNI_VERB_CHECK, CNI_VERB_STATUS, CNI_VERB_GC, CNI_VERB_GET };

/* True for "VERSION", which the shim answers itself. */
bool cni_command_is_version(const char *command);

/* ADD, DEL, CHECK, STATUS, GC and GET (exact, upper case): sets *verb and returns true;
 * false for anything else (also NULL). */
bool cni_command_verb(const char *command, enum cni_verb *verb);

/* The gRPC method path of a verb ("/podwire.v1.Cni/Add", ...). */
const char *cni_verb_method(enum cni_verb verb);

#endif
