// Small pieces for writing HTML by hand: escaping and embedding data.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace dec::report {

// Text or attribute value: & < > " ' replaced by entities.
std::string escape_html(const std::string& text);

// JSON text that is safe inside <script type="application/json">: every '<',
// '>' and '&' (which can only occur inside JSON strings) is written as
// \u003c, \u003e, \u0026, so no string can close the script element ("</script>")
// or open a comment. JSON.parse reads it back unchanged. NaN and infinities
// become null.
std::string script_json(const nlohmann::json& value);

// A number for a table cell: "-" when not finite, else printf("%.*g").
std::string format_number(double value, int digits = 3);

}  // namespace dec::report
