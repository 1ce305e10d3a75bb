// Whole-file reads and crash-safe writes.
//
// write_file_atomic() writes to "<path>.tmp.<pid>", fsyncs it, renames it over
// <path> and fsyncs the directory: a reader sees either the old content or the
// new, never a mix, even if the process or the machine dies midway.
#pragma once

#include <string>
#include <string_view>

namespace dec {

// Throws IoError naming the path when the file cannot be read.
std::string read_file(const std::string& path);
void write_file_atomic(const std::string& path, std::string_view bytes);
// fsync a file or directory by path (a directory fsync makes renames durable).
void fsync_path(const std::string& path);

}  // namespace dec
