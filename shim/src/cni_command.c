#include "cni_command.h"

#include <stddef.h>
#include <string.h>

static const struct {
    const char *command;
    const char *method;
    enum cni_verb verb;
} verbs[] = {
    {"ADD", "/podwire.v1.Cni/Add", CNI_VERB_ADD},
    {"DEL", "/podwire.v1.Cni/Del", CNI_VERB_DEL},
    {"CHECK", "/podwire.v1.Cni/Check", CNI_VERB_CHECK},
    {"STATUS", "/podwire.v1.Cni/Status", CNI_VERB_STATUS},
    {"GC", "/podwire.v1.Cni/Gc", CNI_VERB_GC},
    {"GET", "/podwire.v1.Cni/Get", CNI_VERB_GET},
};

bool cni_command_is_version(const char *command)
{
    return command && strcmp(command, "VERSION") == 0;
}

bool cni_command_verb(const char *command, enum cni_verb *verb)
{
    if (!command)
        return false;
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(command, verbs[i].command) == 0) {
            *verb = verbs[i].verb;
            return true;
        }
    return false;
}

const char *cni_verb_method(enum cni_verb verb)
{
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (verbs[i].verb == verb)
            return verbs[i].method;
    return "/podwire.v1.Cni/Unknown";
}
