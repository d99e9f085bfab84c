// A pool of open connections for a long-running process (trial serve): a lease is a Connection
// whose destruction returns the underlying one to the pool, so each request gets its own
// connection (SQLite and libpq connections are single-threaded) without reconnecting. Write
// transactions of leases take turns on one in-process lock: the database still serializes
// writers across processes, but this process's writers wait in a queue rather than polling.
// Errors: Acquire fails as the factory does (kIo: cannot open the database).
// Thread-safety: Acquire may be called from any thread; a lease belongs to one thread at a time.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sql.h"

namespace trial::store {

class ConnectionPool : public std::enable_shared_from_this<ConnectionPool> {
 public:
  using Factory = std::function<Result<std::unique_ptr<Connection>>()>;
  // At most `max_idle` connections are kept when returned; more are closed.
  static std::shared_ptr<ConnectionPool> Create(Factory factory, size_t max_idle);

  // An idle connection, or a new one from the factory.
  Result<std::unique_ptr<Connection>> Acquire();
  size_t idle() const;

 private:
  ConnectionPool(Factory factory, size_t max_idle);
  void Return(std::unique_ptr<Connection> c);
  class Lease;

  Factory factory_;
  size_t max_idle_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::mutex write_mu_;  // held by each write transaction of a lease (one writer at a time)
};

}  // namespace trial::store
