// Free-text stage names reduced to templates. Many logs say what a task did in a sentence
// ("fetched https://example.com/item/7 in 12 ms", "job-07: await_approval"), and coroner takes
// that sentence as the task's stage; every task would then have a stage of its own. Masking the
// variable parts (numbers, ids, addresses, paths, quoted values) gives the stage the sentences
// share: "fetched <url> in <num> ms".
//
// Unlike a log template miner (Drain and its kin), nothing is learned from other messages: the
// template is a pure function of the text, so it does not depend on input order or on -j.
#pragma once

#include <string>
#include <string_view>

namespace coroner {

// Writes the template of `text` into `out` (cleared first) and returns true when anything was
// masked. Returns false, with `out` left empty, when the text has no variable part: the common
// case of a constant stage name ("task started", "save_to_db") is one scan, with no allocation.
//
// Each variable part becomes one placeholder: <url> <uuid> <ip> <time> <path> <str> <hex> <num>.
// The rules, in the order they are tried, are at the top of stage_template.cpp. A template masks
// to itself: mask_variable_parts(template) is false.
bool mask_variable_parts(std::string_view text, std::string& out);

// The same, always by the full scanner: mask_variable_parts answers plain sentences (letters,
// digits, spaces) by a shortcut, and the tests hold the two to the same answer.
bool mask_variable_parts_by_scanner(std::string_view text, std::string& out);

// A UUID as Python writes one: str(uuid4()), 8-4-4-4-12 hex digits, or uuid4().hex, 32 of them.
// A task id of that form names one task wherever it is logged (task_store.cpp).
bool is_uuid(std::string_view text);

}  // namespace coroner
