#include "check.h"
#include "cni_command.h"
#include "env.h"

int main(void)
{
    uint32_t v = 0;
    CHECK(env_parse_ms(NULL, 7, 0, 100, &v) && v == 7);
    CHECK(env_parse_ms("", 7, 0, 100, &v) && v == 7);
    CHECK(env_parse_ms("0", 7, 0, 100, &v) && v == 0);
    CHECK(env_parse_ms("100", 7, 0, 100, &v) && v == 100);
    CHECK(env_parse_ms("0042", 7, 0, 100, &v) && v == 42);
    CHECK(!env_parse_ms("101", 7, 0, 100, &v));
    CHECK(!env_parse_ms("0", 7, 1, 100, &v));
    CHECK(!env_parse_ms("-1", 7, 0, 100, &v));
    CHECK(!env_parse_ms(" 5", 7, 0, 100, &v));
    CHECK(!env_parse_ms("5ms", 7, 0, 100, &v));
    CHECK(!env_parse_ms("1.5", 7, 0, 100, &v));
    CHECK(!env_parse_ms("99999999999999999999999999", 7, 0, 4294967295u, &v));
    CHECK(env_parse_ms("4294967295", 7, 0, 4294967295u, &v) && v == 4294967295u);

    CHECK(cni_command_is_version("VERSION"));
    CHECK(!cni_command_is_version("version"));
    CHECK(!cni_command_is_version(NULL));
    static const struct {
        const char *command, *method;
        enum cni_verb verb;
    } verbs[] = {
        {"ADD", "/podwire.v1.Cni/Add", CNI_VERB_ADD},
        {"DEL", "/podwire.v1.Cni/Del", CNI_VERB_DEL},
        {"CHECK", "/podwire.v1.Cni/Check", CNI_VERB_CHECK},
        {"STATUS", "/podwire.v1.Cni/Status", CNI_VERB_STATUS},
        {"GC", "/podwire.v1.Cni/Gc", CNI_VERB_GC},
        {"GET", "/podwire.v1.Cni/Get", CNI_VERB_GET},
    };
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        enum cni_verb verb = CNI_VERB_GET + 1;
        CHECK(cni_command_verb(verbs[i].command, &verb) && verb == verbs[i].verb);
        CHECK_STR(cni_verb_method(verbs[i].verb), verbs[i].method);
    }
    enum cni_verb verb = CNI_VERB_ADD;
    CHECK(!cni_command_verb("add", &verb));
    CHECK(!cni_command_verb("VERSION", &verb));
    CHECK(!cni_command_verb("", &verb));
    CHECK(!cni_command_verb(NULL, &verb));
    CHECK(!cni_command_verb("ADD ", &verb));

    return check_report("test_env_command");
}
