#include "store/pool.h"

namespace trial::store {

class ConnectionPool::Lease : public Connection {
 public:
  Lease(std::shared_ptr<ConnectionPool> pool, std::unique_ptr<Connection> c)
      : pool_(std::move(pool)), c_(std::move(c)) {}
  ~Lease() override { pool_->Return(std::move(c_)); }
  Result<std::unique_ptr<Transaction>> Begin(bool write) override { return c_->Begin(write); }
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
