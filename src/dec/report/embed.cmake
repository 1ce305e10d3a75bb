# cmake -DINPUT=<file> -DOUTPUT=<file.cc> -DFUNCTION=<name> -P embed.cmake
#
# Writes a C++ source that defines
#   std::string_view dec::report::embedded::<FUNCTION>()
# returning the bytes of INPUT (declared in dec/report/embedded.h). The bytes
# are a hex array, so no content (quotes, backslashes, ")") needs escaping.
foreach(var INPUT OUTPUT FUNCTION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed.cmake: -D${var}=... is required")
  endif()
endforeach()
file(READ "${INPUT}" hex HEX)
# 32 bytes (64 hex digits) per line, then each byte as 0xNN,
string(REPEAT "[0-9a-f]" 64 line)
string(REGEX REPLACE "(${line})" "\\1\n" hex "${hex}")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUTPUT}.tmp"
"// Generated from ${INPUT} by src/dec/report/embed.cmake. Do not edit.
#include \"dec/report/embedded.h\"

namespace dec::report::embedded {
namespace {
// The file's bytes and a terminating 0 (an array cannot be empty).
const unsigned char kBytes[] = {
${bytes}0x00};
}  // namespace

std::string_view ${FUNCTION}() {
  return {reinterpret_cast<const char*>(kBytes), sizeof kBytes - 1};
}

}  // namespace dec::report::embedded
")
# Only touch OUTPUT when it changes, so an unchanged input recompiles nothing.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
