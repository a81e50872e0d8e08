// Appends `s` to `out` as a JSON string literal (with the quotes). UTF-8 is
// passed through byte-exact (Chinese item names stay readable); control
// characters, '"' and '\\' are escaped. Callers validate UTF-8 on input.
#pragma once

#include <string>
#include <string_view>

namespace omni {

void AppendJsonString(std::string& out, std::string_view s);

}  // namespace omni
