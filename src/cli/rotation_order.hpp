// Logs rotated by logrotate (or Python's RotatingFileHandler) given as the shell lists them:
// `app.log*` is app.log (the newest), app.log.1, app.log.2.gz (the oldest). Read by time, they
// interleave right, but records of equal time (a millisecond clock) go in the order the files
// are given: newest first, which puts a task's later records before its earlier ones.
#pragma once

#include <string>
#include <vector>

namespace coroner {

// The files with each rotation set among them (the same name but for a ".N", "-DATE" or ".DATE"
// suffix, before any ".gz" or ".zst") put oldest first: highest N, then dates ascending, then
// the live file. Each set keeps the places its files had; every other file stays where it was.
std::vector<std::string> oldest_rotation_first(std::vector<std::string> files);

}  // namespace coroner
