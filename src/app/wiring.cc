#include "app/wiring.h"

#include "store/postgres/postgres.h"
#include "store/sqlite/sqlite.h"

namespace trial::app {

cli::Environment ProductionEnvironment() {
  cli::Environment env;
  env.open_database = [](const std::string& target,
                         bool create) -> Result<std::unique_ptr<store::Connection>> {
    if (target.rfind("postgresql://", 0) == 0 || target.rfind("postgres://", 0) == 0) {
      return store::OpenPostgres(target);
    }
    store::SqliteOptions options;
    options.create = create;
    return store::OpenSqlite(target, options);
  };
  env.backup = [](store::Connection& db, const std::string& out) {
    return store::BackupSqlite(db, out);
  };
  return env;
}

}  // namespace trial::app
