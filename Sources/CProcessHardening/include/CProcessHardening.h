#ifndef CPROCESSHARDENING_H
#define CPROCESSHARDENING_H

/// Makes the process non-dumpable (PR_SET_DUMPABLE 0: no core dump, whatever core_pattern says, and no
/// ptrace attach or /proc/PID/mem by other processes of the same user) and sets the core file size limit
/// to 0, soft and hard. `prctl` is variadic, so Swift cannot call it directly.
/// Returns 0 on success, or the errno of the call that failed.
int shanyrak_forbid_core_dumps(void);

/// Whether the process may dump core: 1 when it is dumpable or its core limit is not 0, else 0.
int shanyrak_may_dump_core(void);

#endif
