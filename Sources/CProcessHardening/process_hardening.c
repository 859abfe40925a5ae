#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include "CProcessHardening.h"

int shanyrak_forbid_core_dumps(void) {
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return errno;
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0) return errno;
    return 0;
}

int shanyrak_may_dump_core(void) {
    struct rlimit limit;
    if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) return 1;
    if (getrlimit(RLIMIT_CORE, &limit) != 0 || limit.rlim_cur != 0 || limit.rlim_max != 0) return 1;
    return 0;
}

extern char **environ;

int shanyrak_scrub_environment_variable(const char *name) {
    size_t length = strlen(name);
    if (environ == NULL || length == 0 || strchr(name, '=') != NULL) return 0;
    int removed = 0;
    char **to = environ;
    for (char **from = environ; *from != NULL; from++) {
        char *entry = *from;
        if (strncmp(entry, name, length) == 0 && entry[length] == '=') {
            explicit_bzero(entry, strlen(entry));
            removed++;
        } else {
            *to++ = entry;
        }
    }
    *to = NULL;
    return removed;
}
