// An always-on check of an invariant whose violation is a bug, not bad input: it prints the
// invariant's name and where it failed, then aborts (builds with NDEBUG keep it).
#pragma once

#include <cstdio>
#include <cstdlib>

#define GREGOR_INVARIANT(cond, what)                                                        \
    do {                                                                                    \
        if (!(cond)) [[unlikely]] {                                                         \
            std::fprintf(stderr, "invariant violated: %s (%s) at %s:%d\n", what, #cond,     \
                         __FILE__, __LINE__);                                               \
            std::abort();                                                                   \
        }                                                                                   \
    } while (0)
