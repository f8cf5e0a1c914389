// JSON values written over several lines, one after another (an exporter's indented output): where
// each ends. Brackets are counted outside strings; a raw newline cannot be inside a valid string,
// so one there means a damaged value, and the count goes on as if the string had ended, which
// finds the next value again.
#pragma once

#include <cstddef>

namespace coroner {

inline constexpr size_t kNoValueEnd = size_t(-1);

// The end of the JSON object or array that opens at data[0]: the offset just past its closing
// bracket, or kNoValueEnd when it does not close within [data, data + size).
size_t json_value_end(const char* data, size_t size);

// The offset just past the last newline of [data, data + size) that lies between top-level
// values (outside every object, array and string), or kNoValueEnd when there is none. Counting
// starts between values: data[0] is not inside one.
size_t last_newline_between_values(const char* data, size_t size);

}  // namespace coroner
