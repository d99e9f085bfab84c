#include "store/pool.h"

namespace trial::store {

namespace {

// A write transaction holding the pool's writer lock until it commits or rolls back.
class LockedTransaction : public Transaction {
 public:
  LockedTransaction(std::unique_lock<std::mutex> lock, std::unique_ptr<Transaction> tx)
      : lock_(std::move(lock)), tx_(std::move(tx)) {}
  ~LockedTransaction() override { tx_.reset(); }  // roll back before the lock is released
  Result<std::vector<Row>> Query(std::string_view sql,
                                 const std::vector<SqlValue>& params) override {
    return tx_->Query(sql, params);
  }
  Result<void> Commit() override { return tx_->Commit(); }

 private:
  std::unique_lock<std::mutex> lock_;
  std::unique_ptr<Transaction> tx_;
};

}  // namespace

class ConnectionPool::Lease : public Connection {
 public:
  Lease(std::shared_ptr<ConnectionPool> pool, std::unique_ptr<Connection> c)
      : pool_(std::move(pool)), c_(std::move(c)) {}
  ~Lease() override { pool_->Return(std::move(c_)); }
  Result<std::unique_ptr<Transaction>> Begin(bool write) override {
    if (!write) return c_->Begin(false);
    // Writers of this process queue here, in order, instead of polling the database's lock
    // (SQLite's busy handler sleeps and retries; under load that is most of a request's time).
    std::unique_lock lock(pool_->write_mu_);
    auto tx = c_->Begin(true);
    if (!tx) return std::unexpected(tx.error());
    return std::unique_ptr<Transaction>(new LockedTransaction(std::move(lock), std::move(*tx)));
  }
  Backend backend() const override { return c_->backend(); }
  std::string Describe() const override { return c_->Describe(); }

 private:
  std::shared_ptr<ConnectionPool> pool_;
  std::unique_ptr<Connection> c_;
};

std::shared_ptr<ConnectionPool> ConnectionPool::Create(Factory factory, size_t max_idle) {
  return std::shared_ptr<ConnectionPool>(new ConnectionPool(std::move(factory), max_idle));
}

ConnectionPool::ConnectionPool(Factory factory, size_t max_idle)
    : factory_(std::move(factory)), max_idle_(max_idle) {}

Result<std::unique_ptr<Connection>> ConnectionPool::Acquire() {
  std::unique_ptr<Connection> c;
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      c = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!c) {
    auto made = factory_();
    if (!made) return std::unexpected(made.error());
    c = std::move(*made);
  }
  return std::unique_ptr<Connection>(new Lease(shared_from_this(), std::move(c)));
}

void ConnectionPool::Return(std::unique_ptr<Connection> c) {
  std::lock_guard lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(c));
}

size_t ConnectionPool::idle() const {
  std::lock_guard lock(mu_);
  return idle_.size();
}

}  // namespace trial::store
