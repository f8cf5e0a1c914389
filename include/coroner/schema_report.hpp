// `coroner schema` output, as text or JSON.
#pragma once

#include <string>

#include "coroner/ingest.hpp"
#include "coroner/schema.hpp"

namespace coroner {

std::string render_schema_text(const SchemaCollector& schema, const std::vector<std::string>& files,
                               const IngestResult& ingest);
std::string render_schema_json(const SchemaCollector& schema, const std::vector<std::string>& files,
                               const IngestResult& ingest);

}  // namespace coroner
