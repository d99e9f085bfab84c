// The one place that knows the concrete implementations (ARCHITECTURE.md §4): which database
// backend a --db target means, and how to back it up.
#pragma once

#include "cli/cli.h"

namespace trial::app {

// A file path opens an SQLite database; a postgresql:// or postgres:// URL a PostgreSQL one.
cli::Environment ProductionEnvironment();

}  // namespace trial::app
