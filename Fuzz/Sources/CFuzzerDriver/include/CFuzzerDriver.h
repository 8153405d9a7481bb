#ifndef KIZUNA_CFUZZERDRIVER_H
#define KIZUNA_CFUZZERDRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, linked by `-sanitize=fuzzer`): parses libFuzzer's flags
/// from argv and runs `callback` on each input. A fuzz executable's entry point calls it,
/// because SwiftPM renames an executable's `main` and so libFuzzer's own `main` is not used.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
