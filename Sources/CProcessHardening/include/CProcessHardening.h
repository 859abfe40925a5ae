#ifndef CPROCESSHARDENING_H
#define CPROCESSHARDENING_H

/// Makes the process non-dumpable (PR_SET_DUMPABLE 0: no core dump, whatever core_pattern says, and no
/// ptrace attach or /proc/PID/mem by other processes of the same user) and sets the core file size limit
/// to 0, soft and hard. `prctl` is variadic, so Swift cannot call it directly.
/// Returns 0 on success, or the errno of the call that failed.
int shanyrak_forbid_core_dumps(void);

/// Whether the process may dump core: 1 when it is dumpable or its core limit is not 0, else 0.
int shanyrak_may_dump_core(void);

/// Removes every `NAME=value` entry of the process environment whose name is `name`, after overwriting
/// the whole entry, name and value, with zeros where it lies. `unsetenv` alone would remove only the
/// pointer: the bytes would stay in the environment block that /proc/PID/environ shows. Does what
/// glibc's `unsetenv` does to the `environ` array (shifts the later pointers down), without its lock:
/// call it before any other thread may read or change the environment. Entries that setenv or putenv
/// added are wiped too (glibc never frees setenv's strings; putenv's must be writable).
/// Returns the number of entries removed (0 when `name` is empty or holds '=').
int shanyrak_scrub_environment_variable(const char *name);

#endif
