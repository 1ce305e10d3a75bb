// How deeply a JSON text nests, read without parsing it: servers refuse a
// pathologically nested document before handing it to a recursive parser.
#pragma once

#include <string_view>

namespace dec {

// The deepest nesting of arrays and objects in text (brackets inside strings
// do not count). Meant for well-formed or malformed JSON alike: it never fails.
int json_depth(std::string_view text);

}  // namespace dec
