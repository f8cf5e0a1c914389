// The two ways parse_epoch_number reads a number, apart, so the tests can hold one to the other.
#pragma once

#include <optional>
#include <string_view>

#include "coroner/timestamp.hpp"

namespace coroner {

// The shortcut for the shape nearly every record has (time.time(): "1795578788.0001457", ten
// digits, a dot, one to nine digits); nullopt for every other shape.
std::optional<ParsedTime> parse_common_epoch_seconds(std::string_view text);

// parse_epoch_number without that shortcut: the same time for every text the shortcut reads.
std::optional<ParsedTime> parse_epoch_number_in_full(std::string_view text);

}  // namespace coroner
