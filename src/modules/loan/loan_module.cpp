#include "loan_module.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "contracts.h"
#include "core/error.h"
#include "core/item_view.h"
#include "history.h"
#include "money_facts.h"
#include "products.h"
#include "settlement.h"

namespace cellfleet::loan {

contracts::OrganizationInfo Context::organization(const std::string& org_id) const {
  auto org = organizations.find_organization(org_id);
  if (!org) throw Error(ErrorKind::not_found, "no organization " + org_id);
  return *org;
}

std::optional<storage::Item> Context::find_contract(const std::string& org_id,
                                                    const std::string& contract_id) const {
  if (!is_id(contract_id, "con")) return std::nullopt;
  return store.get(kTable, {keys::contract(org_id, contract_id), "contract"});
}

storage::Item Context::require_contract(const std::string& org_id,
                                        const std::string& contract_id) const {
  auto c = find_contract(org_id, contract_id);
  if (!c) throw Error(ErrorKind::not_found, "no contract " + contract_id);
  return *c;
}

nlohmann::json public_view(const storage::Item& item) {
  return item_view(item);
}

struct LoanModule::Impl {
  Impl(LoanDeps deps, LoanOptions options)
      : ctx(deps, options), products(ctx), contracts(ctx, products), settlement(ctx), history(ctx), money(ctx) {}

  Context ctx;
  Products products;
  Contracts contracts;
  Settlement settlement;
  History history;
  MoneyFacts money;

  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::thread scheduler;

  void run_scheduler() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      lock.unlock();
      try {
        settlement.check_due_contracts();
      } catch (const std::exception& e) {
        ctx.log.error("contract checks failed", {{"error", e.what()}});
      }
      lock.lock();
      wake.wait_for(lock, std::chrono::seconds(ctx.options.check_interval_seconds),
                    [this] { return stopping; });
    }
  }
};

LoanModule::LoanModule(LoanDeps deps, LoanOptions options)
    : impl_(std::make_unique<Impl>(deps, options)) {}

LoanModule::~LoanModule() {
  stop();
}

void LoanModule::register_routes(http::Router& router) {
  impl_->products.register_routes(router);
  impl_->contracts.register_routes(router);
}

void LoanModule::subscribe(events::Dispatcher& dispatcher) {
  impl_->settlement.subscribe(dispatcher);
}

contracts::ContractDirectory& LoanModule::directory() {
  return impl_->contracts;
}

contracts::LoanHistory& LoanModule::history() {
  return impl_->history;
}

contracts::ContractMoneySource& LoanModule::money() {
  return impl_->money;
}

std::size_t LoanModule::check_due_contracts() {
  return impl_->settlement.check_due_contracts();
}

void LoanModule::start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->scheduler.joinable()) return;
  impl_->stopping = false;
  impl_->scheduler = std::thread([this] { impl_->run_scheduler(); });
}

void LoanModule::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->scheduler.joinable()) return;
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->scheduler.join();
}

}  // namespace cellfleet::loan
