#pragma once
// Where a case ledger lives: a GeoPackage file path or a PostgreSQL connection string. Pure
// text rules, shared by the configuration (ledger.path) and the ledger itself.
#include <string>

namespace weipian {

// True for a PostgreSQL connection string ("PG:…", "postgresql://…", "postgres://…"); anything
// else is a GeoPackage file path.
bool is_postgres_ledger(const std::string& location);

// The location with any password replaced by ***, for messages and run.json.
std::string redact_ledger_location(const std::string& location);

}  // namespace weipian
