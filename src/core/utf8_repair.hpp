// Lines that are not UTF-8. A program that logs through a handler opened in Windows-1252 or
// Latin-1 writes "é" as the one byte 0xE9, and simdjson rejects the whole line for it: the
// record is lost for a letter. Such bytes are read as the Windows-1252 characters they most
// likely are (Latin-1 where it differs only in control codes), and the line parses.
#pragma once

#include <string>
#include <string_view>

namespace coroner {

// `text` with every byte that is not part of a well-formed UTF-8 sequence replaced by the UTF-8
// of its Windows-1252 character (U+FFFD for the five bytes Windows-1252 leaves undefined), into
// `out`, followed by `padding` zero bytes (room for simdjson to read past the end). False, with
// `out` untouched, when `text` is UTF-8 already.
bool repair_utf8(std::string_view text, std::string& out, size_t padding);

}  // namespace coroner
