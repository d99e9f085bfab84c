#include "service/permissions.h"

#include <algorithm>
#include <array>

namespace trial::service {

namespace {

using store::Role;
constexpr Role kA = Role::kAdministrator;
constexpr Role kI = Role::kInvestigator;
constexpr Role kC = Role::kCoordinator;
constexpr Role kP = Role::kUnblindedPharmacist;
constexpr Role kM = Role::kMonitor;
constexpr Role kD = Role::kDataManager;
constexpr Role kBS = Role::kBlindedStatistician;
constexpr Role kUS = Role::kUnblindedStatistician;
constexpr Role kDS = Role::kDsmbMember;
constexpr Role kSV = Role::kSponsorViewer;

// The matrix. Blinding is not a row here: arms reach only SeesArms() roles, whatever the action
// (service/kits.h, store.h); "unblind" is the one audited exception, for an investigator.
const std::vector<Permission>& Matrix() {
  static const std::vector<Permission> kMatrix = {
      // trial set-up
      {"protocol.check", {kA, kD}, "compile the protocol folder and report its errors"},
      {"protocol.questions",
       {kA, kI, kC, kP, kM, kD, kBS, kUS, kDS, kSV},
       "the readings applied to ambiguous registry text"},
      {"site.add", {kA}, "add a site"},
      {"site.list", {kA, kI, kC, kP, kM, kD, kBS, kUS, kDS, kSV}, "list the sites"},
      {"user.add", {kA}, "add a user with a role and sites"},
      {"user.password", {kA}, "set another user's password (each user may change their own)"},
      {"audit.verify", {kA, kD}, "recompute the audit chain"},
      {"audit.show", {kA, kI, kC, kP, kM, kD}, "read the audit trail (arms blinded by role)"},
      // screening and subjects
      {"screen", {kI, kC}, "evaluate the 26 criteria on a FHIR bundle, optionally saving it"},
      {"subject.add", {kI, kC}, "register a candidate at a site"},
      {"subject.list", {kA, kI, kC, kP, kM, kD, kBS, kUS, kDS, kSV}, "list subjects"},
      {"subject.show", {kA, kI, kC, kP, kM, kD, kBS, kUS, kDS, kSV}, "one subject's record"},
      {"subject.status", {kI, kC}, "withdraw, complete or rescreen a subject"},
      {"item.history", {kI, kC, kM, kD}, "every version of one eCRF item"},
      // randomization and drug supply
      {"randomization.simulate", {kA, kBS, kUS}, "simulate the allocation design"},
      {"randomization.golive", {kA}, "generate and commit the allocation lists"},
      {"randomization.verify", {kA, kUS}, "recompute the lists from the seed"},
      {"randomization.extend", {kA}, "extend the allocation lists"},
      {"randomize", {kI, kC}, "allocate an eligible subject (number only, never the arm)"},
      {"unblind", {kI}, "emergency unblinding of one subject (password re-entry, audited)"},
      {"kit.generate", {kA, kP}, "add blinded kits to the depot"},
      {"kit.ship", {kA, kP}, "ship kits to a site"},
      {"kit.receive", {kI, kC, kP}, "receive a shipment at the site"},
      {"kit.status", {kA, kP}, "quarantine, release, damage or destroy a kit"},
      {"kit.dispense", {kI, kC, kP}, "give a randomized subject a kit of its arm"},
      {"kit.list", {kA, kI, kC, kP, kM}, "list kits (arms for unblinded roles only)"},
      {"kit.stock", {kA, kI, kC, kP}, "kits available against the doses due"},
      // visits, doses and data
      {"visit.list", {kI, kC, kM, kD}, "the visit calendar with windows"},
      {"visit.record", {kI, kC}, "record a visit or a missed visit"},
      {"dose.plan", {kI, kC, kP}, "the dose, volume, vials and the hold rules' verdict"},
      {"dose.record", {kI, kC, kP}, "record a dose given"},
      {"dose.withhold", {kI, kC, kP}, "record a dose withheld"},
      {"deviation.list", {kA, kI, kC, kM, kD}, "protocol deviations"},
      {"data.set", {kI, kC}, "save one eCRF item (edit checks, queries, safety signals)"},
      {"data.import", {kI, kC}, "save a file of eCRF items in one transaction"},
      {"query.list", {kI, kC, kM, kD}, "data queries"},
      {"query.open", {kM, kD}, "open a query on an item"},
      {"query.answer", {kI, kC}, "answer a query"},
      {"query.close", {kM, kD}, "close a query"},
      {"query.reopen", {kM, kD}, "reopen a query"},
      {"query.history", {kI, kC, kM, kD}, "the steps of one query"},
      {"review.sdv", {kM}, "source-data verification of an item"},
      {"review.lock", {kD}, "lock an item"},
      {"review.unlock", {kD}, "unlock an item (reason required)"},
      {"review.show", {kI, kC, kM, kD}, "the review state of an item"},
      {"sign", {kI}, "investigator signature of a visit or casebook (password re-entry)"},
      {"outcomes", {kI, kC, kM, kD, kBS, kUS, kDS}, "derived outcomes (TIS, respiratory)"},
      // safety
      {"ae.add", {kI, kC}, "record an adverse event"},
      {"ae.update", {kI, kC}, "a follow-up version of an adverse event"},
      {"ae.list", {kI, kC, kM, kD, kDS, kSV}, "adverse events"},
      {"ae.show", {kI, kC, kM, kD, kDS, kSV}, "one adverse event's versions"},
      {"ae.summary", {kI, kC, kM, kD, kBS, kUS, kDS, kSV}, "safety summaries per subject, site"},
      {"sae.report", {kI, kC}, "submit an SAE report (initial or follow-up)"},
      {"sae.ack", {kA, kSV}, "the sponsor's acknowledgement of an SAE report"},
      {"alerts", {kA, kI, kC, kM, kD}, "open safety alerts and SAE reports due"},
      {"alert.ack", {kI, kC}, "acknowledge an alert"},
      {"alert.confirm", {kI}, "confirm an alert as an adverse event"},
      {"alert.dismiss", {kI}, "dismiss an alert with a reason"},
      {"alert.scan", {kI, kC, kD}, "re-evaluate the safety signals"},
      {"outbox.list", {kA}, "notifications queued for the sponsor and medical monitor"},
      {"outbox.deliver", {kA}, "deliver the queued notifications"},
      {"token.add", {kA, kI, kC, kP, kM, kD, kBS, kUS, kDS, kSV}, "an API token for oneself"},
  };
  return kMatrix;
}

}  // namespace

std::span<const Permission> PermissionMatrix() { return Matrix(); }

const Permission* FindPermission(std::string_view action) {
  for (const auto& p : Matrix()) {
    if (p.action == action) return &p;
  }
  return nullptr;
}

bool Allowed(store::Role role, std::string_view action) {
  const Permission* p = FindPermission(action);
  return p && std::find(p->roles.begin(), p->roles.end(), role) != p->roles.end();
}

Result<void> Authorize(const store::User& user, std::string_view action) {
  if (Allowed(user.role, action)) return {};
  return Fail(ErrorCode::kPermissionDenied, "user '" + user.username + "' (" +
                                                store::RoleName(user.role) + ") may not do '" +
                                                std::string(action) + "'");
}

Result<void> AuthorizeSite(const store::User& user, const std::string& site) {
  if (!store::IsSiteScoped(user.role) ||
      std::find(user.sites.begin(), user.sites.end(), site) != user.sites.end()) {
    return {};
  }
  return Fail(ErrorCode::kPermissionDenied, "user '" + user.username + "' (" +
                                                store::RoleName(user.role) +
                                                ") may not see site '" + site + "'");
}

std::string PermissionMatrixMarkdown() {
  constexpr std::array kRoles = {kA, kI, kC, kP, kM, kD, kBS, kUS, kDS, kSV};
  std::string out = "| action |";
  for (Role r : kRoles) out += std::string(" ") + store::RoleName(r) + " |";
  out += " what |\n|---|";
  for (size_t i = 0; i < kRoles.size(); ++i) out += ":-:|";
  out += "---|\n";
  for (const auto& p : Matrix()) {
    out += "| `" + std::string(p.action) + "` |";
    for (Role r : kRoles) {
      bool yes = std::find(p.roles.begin(), p.roles.end(), r) != p.roles.end();
      out += yes ? " ✓ |" : " · |";
    }
    out += " " + std::string(p.why) + " |\n";
  }
  return out;
}

}  // namespace trial::service
