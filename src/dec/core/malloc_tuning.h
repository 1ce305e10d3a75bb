// glibc malloc settings for a training process.
//
// A training step allocates and frees the same multi-megabyte tensors
// (activations, gradients, buckets) every iteration. With glibc's defaults a
// block above the dynamic mmap threshold (128 KiB, rising to at most 32 MiB)
// is mmap'd and unmapped on free, and free memory above 128 KiB at the top of
// the heap is trimmed back to the kernel; either way the next iteration
// page-faults the same memory in again, zero-filled: on the 2-node
// data-parallel peer (bench/ddp_peer) the kernel took a third of the CPU, mostly
// page faults, and the step was slower by about a quarter (docs/measurements.md,
// "glibc malloc settings").
// This is what jemalloc or tcmalloc, preloaded, give PyTorch users; we get it
// from glibc with two mallopt calls.
//
// retain_freed_memory() keeps blocks under 64 MiB on the heap and keeps up to
// 256 MiB of free heap mapped. Resident memory then stays at its peak instead
// of shrinking between steps. It changes nothing when the user has set malloc
// tunables (GLIBC_TUNABLES=glibc.malloc.*, MALLOC_*_ environment variables):
// theirs win. Call it first thing in main(), before threads start.
#pragma once

namespace dec {

// Whether the environment sets malloc tunables of its own (read now; glibc
// read them at process start).
bool environment_tunes_malloc();

// Returns false when the user's own settings were left in place.
bool retain_freed_memory();

}  // namespace dec
