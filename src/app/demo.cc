#include "app/demo.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli/common.h"

namespace trial::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Args = std::vector<std::string>;

// 64 hex digits: the fixed seeds of the demo's randomization lists and kit numbers, so that two
// demo databases made on the same day are identical.
const char* const kListSeed = "5d1e7a3b9c2f4e6a8b0d1c3e5f7a9b2c4d6e8f0a1b3c5d7e9f2a4b6c8d0e1f3a";
const char* const kKitSeed = "a7c9e1f3b5d7092b4d6f8a0c2e4f6b8d0a2c4e6f8b1d3f5a7c9e0b2d4f6a8c1e";

// The error of a failed command: its exit code as an error code (cli.h), the command and its
// message.
Error CommandError(const Args& args, int code, const std::string& err, const std::string& out) {
  std::string command = "trial";
  for (const auto& a : args) {
    if (a == "--db") break;  // the target is the caller's, and may hold a password
    command += " " + (a.find(' ') == std::string::npos ? a : "'" + a + "'");
  }
  std::string message = err.empty() ? out : err;
  while (!message.empty() && message.back() == '\n') message.pop_back();
  for (char& c : message) c = c == '\n' ? ' ' : c;
  const ErrorCode ec = code == cli::kExitUsage      ? ErrorCode::kInvalidArgument
                       : code == cli::kExitProtocol ? ErrorCode::kParse
                       : code == cli::kExitDatabase ? ErrorCode::kIo
                       : code == cli::kExitInput    ? ErrorCode::kInvalidInput
                                                    : ErrorCode::kInternal;
  return Error{ec,
               "demo: `" + command + "` failed (exit " + std::to_string(code) + "): " + message};
}

// Runs `trial` commands against the demo database with a simulated clock: the day set by
// SetDay, from 08:00:00 UTC plus one second per reading of the clock.
class Runner {
 public:
  Runner(std::string db, const cli::Environment& env, std::string protocol_dir)
      : db_(std::move(db)), protocol_(std::move(protocol_dir)), env_(env) {
    auto state = state_;
    env_.clock = [state] {
      const int t = state->tick++;
      char buf[40];
      std::snprintf(buf, sizeof buf, "T%02d:%02d:%02d.000000Z", 8 + t / 3600, t / 60 % 60, t % 60);
      return state->day.ToString() + buf;
    };
  }

  Date day() const { return state_->day; }
  void SetDay(Date d) {
    if (d != state_->day) state_->tick = 0;
    state_->day = d;
  }

  // Runs one command (with --db, and --protocol when `with_protocol`); returns its stdout.
  Result<std::string> Run(Args args, bool with_protocol = true) {
    args.insert(args.end(), {"--db", db_});
    if (with_protocol) args.insert(args.end(), {"--protocol", protocol_});
    std::ostringstream out, err;
    const int code = cli::Run(args, out, err, env_);
    if (code != cli::kExitOk)
      return std::unexpected(CommandError(args, code, err.str(), out.str()));
    return out.str();
  }

 private:
  struct State {
    Date day;
    int tick = 0;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::string db_;
  std::string protocol_;
  cli::Environment env_;
};

// A temporary folder, removed with its content when destroyed.
class TempDir {
 public:
  static Result<std::unique_ptr<TempDir>> Create() {
    std::error_code ec;
    std::string tmpl = (fs::temp_directory_path(ec) / "trial-demo-XXXXXX").string();
    if (ec || mkdtemp(tmpl.data()) == nullptr) {
      return Fail(ErrorCode::kIo, "demo: cannot create a temporary folder " + tmpl);
    }
    return std::unique_ptr<TempDir>(new TempDir(tmpl));
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit TempDir(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

// Writes `value` as JSON to `path`; fails with kIo naming the file.
Result<std::string> WriteJson(const fs::path& path, const json& value) {
  std::ofstream out(path);
  out << value.dump(1);
  out.close();
  if (!out) return Fail(ErrorCode::kIo, "demo: cannot write " + path.string());
  return path.string();
}

// Moves every full date in `j` (a string that is YYYY-MM-DD or starts a dateTime with it) by
// `days`; partial dates ("1975-08") and other strings stay as they are.
void ShiftDates(json& j, int days) {
  if (j.is_object() || j.is_array()) {
    for (auto& child : j) ShiftDates(child, days);
    return;
  }
  if (!j.is_string()) return;
  const std::string& s = j.get_ref<const std::string&>();
  if (s.size() < 10 || (s.size() > 10 && s[10] != 'T')) return;
  auto d = Date::Parse(std::string_view(s).substr(0, 10));
  if (!d) return;
  j = d->AddDays(days).ToString() + s.substr(10);
}

// A copy of the example `name` (examples_dir/name.json) in `dir` with its dates moved so that its
// screening date (name.expected.json) becomes `screening`; returns the copy's path.
Result<std::string> ShiftedExample(const std::string& examples_dir, const std::string& name,
                                   Date screening, const fs::path& dir, int copy) {
  const std::string base = (fs::path(examples_dir) / name).string();
  auto bundle_text = cli::ReadFile(base + ".json");
  if (!bundle_text) return std::unexpected(bundle_text.error());
  auto expected_text = cli::ReadFile(base + ".expected.json");
  if (!expected_text) return std::unexpected(expected_text.error());
  json bundle = json::parse(*bundle_text, nullptr, false);
  json expected = json::parse(*expected_text, nullptr, false);
  if (bundle.is_discarded() || expected.is_discarded() || !expected.is_object() ||
      !expected.contains("screening_date") || !expected["screening_date"].is_string()) {
    return Fail(ErrorCode::kParse,
                "demo: " + base + ".json or .expected.json is not JSON with a screening_date");
  }
  auto original = Date::Parse(expected["screening_date"].get<std::string>());
  if (!original) {
    return Fail(ErrorCode::kParse,
                "demo: " + base + ".expected.json: screening_date: " + original.error().message);
  }
  ShiftDates(bundle, screening.days() - original->days());
  return WriteJson(dir / (name + "-" + std::to_string(copy) + ".json"), bundle);
}

// What happens to a subject.
enum class Stage { kIncomplete, kScreenFailed, kEligible, kOnTreatment, kCompleted };
enum class Twist { kNone, kSoftQuery, kAlert, kSae };

struct SubjectPlan {
  const char* site;
  const char* number;
  const char* example;  // the FHIR example bundle screened
  Stage stage;
  int day;             // randomized: day 0 relative to today; others: the screening date
  const char* weight;  // randomized: the body weight entered at the visits
  Twist twist = Twist::kNone;
};

// The subjects, site by site (docs/demo.md).
const SubjectPlan kSubjects[] = {
    {"PUMCH", "001", "eligible-male", Stage::kCompleted, -100, "72 kg"},
    {"PUMCH", "002", "eligible-female", Stage::kCompleted, -96, "58 kg"},
    {"PUMCH", "003", "eligible-male", Stage::kOnTreatment, -21, "68 kg"},
    {"PUMCH", "004", "eligible-female", Stage::kOnTreatment, -24, "61 kg", Twist::kSae},
    {"PUMCH", "005", "hiv-test-missing", Stage::kIncomplete, -2, ""},
    {"RJH", "001", "eligible-female", Stage::kCompleted, -92, "55 kg"},
    {"RJH", "002", "eligible-male", Stage::kOnTreatment, -19, "77 kg", Twist::kSoftQuery},
    {"RJH", "003", "eligible-female", Stage::kOnTreatment, -22, "63 kg", Twist::kAlert},
    {"RJH", "004", "hbsag-positive", Stage::kScreenFailed, -30, ""},
    {"RJH", "005", "eligible-male", Stage::kEligible, -3, ""},
    {"WCH", "001", "pregnant", Stage::kScreenFailed, -40, ""},
    {"WCH", "002", "eligible-male", Stage::kOnTreatment, -20, "80 kg"},
    {"WCH", "003", "eligible-female", Stage::kEligible, -2, ""},
};

struct SiteSpec {
  const char* id;
  const char* name;
  const char* kits;  // kits shipped: four per randomized subject and a reserve
};
const SiteSpec kSites[] = {{"PUMCH", "Peking Union Medical College Hospital", "20"},
                           {"RJH", "Ruijin Hospital", "16"},
                           {"WCH", "West China Hospital", "10"}};

// One user per role; the site-scoped roles work at PUMCH and RJH, and WCH has its own
// investigator and coordinator.
std::vector<DemoUser> Users() {
  const std::vector<std::string> two = {"PUMCH", "RJH"};
  return {
      {"admin", "administrator", "Ada Admin", {}},
      {"investigator", "investigator", "Dr Wang Li", two},
      {"coordinator", "coordinator", "Zhang Min", two},
      {"pharmacist", "unblinded_pharmacist", "Chen Jie", two},
      {"monitor", "monitor", "Liu Yang", two},
      {"data_manager", "data_manager", "Zhao Lei", {}},
      {"statistician", "blinded_statistician", "Sun Hui", {}},
      {"unblinded_statistician", "unblinded_statistician", "Zhou Ning", {}},
      {"dsmb", "dsmb_member", "Prof Huang Qiang", {}},
      {"sponsor", "sponsor_viewer", "Wu Fang", {}},
      {"wch_investigator", "investigator", "Dr Xu Yan", {"WCH"}},
      {"wch_coordinator", "coordinator", "He Jing", {"WCH"}},
  };
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

// One step of the timeline: run on `day` (steps of one day in the order they were added).
struct Step {
  Date day;
  std::function<Result<void>()> run;
};

// The demo's script: every command on its day; Build adds the steps, Play runs them in time order.
class Script {
 public:
  Script(Runner& runner, Date today, std::string examples_dir, fs::path files)
      : r_(runner), today_(today), examples_(std::move(examples_dir)), files_(std::move(files)) {}

  void Build() {
    Setup(today_.AddDays(-120));
    for (const auto& s : kSubjects) AddSubject(s);
  }

  Result<void> Play() {
    std::stable_sort(steps_.begin(), steps_.end(),
                     [](const Step& a, const Step& b) { return a.day < b.day; });
    for (const auto& step : steps_) {
      r_.SetDay(step.day);
      if (auto done = step.run(); !done) return done;
    }
    r_.SetDay(today_);
    if (auto v = r_.Run({"audit", "verify"}, false); !v) return std::unexpected(v.error());
    return {};
  }

  int subjects() const { return subjects_; }

 private:
  // A step that runs one command and ignores its output.
  void At(Date day, Args args, bool with_protocol = true) {
    steps_.push_back({day, [this, args = std::move(args), with_protocol]() -> Result<void> {
                        auto out = r_.Run(args, with_protocol);
                        if (!out) return std::unexpected(out.error());
                        return {};
                      }});
  }
  void AtDo(Date day, std::function<Result<void>()> run) {
    steps_.push_back({day, std::move(run)});
  }

  // Sites, users, randomization go-live, kits made, shipped and received (`trial init` has run).
  void Setup(Date day) {
    for (const auto& s : kSites) {
      At(day, {"site", "add", s.id, "--name", s.name, "--user", "admin"}, false);
    }
    for (const auto& u : Users()) {
      if (u.username == "admin") continue;  // made by `trial init`
      Args args = {"user",   "add",          u.username, "--role", u.role,
                   "--name", u.display_name, "--user",   "admin"};
      if (!u.sites.empty()) args.insert(args.end(), {"--sites", Join(u.sites)});
      At(day, args, false);
    }
    At(day, {"randomization", "golive", "--user", "admin", "--seed", kListSeed});
    // Kits expire well after the last visit of the demo.
    At(day, {"kit", "generate", "--count", "48", "--lot", "DEMO-L1", "--expiry",
             today_.AddDays(400).ToString(), "--user", "admin", "--seed", kKitSeed});
    for (const auto& s : kSites) {
      // Shipped the next day, received by the site's coordinator three days later.
      auto shipment = std::make_shared<std::string>();
      AtDo(day.AddDays(1), [this, s, shipment]() -> Result<void> {
        auto out = r_.Run({"kit", "ship", "--site", s.id, "--count", s.kits, "--user", "admin"});
        if (!out) return std::unexpected(out.error());
        // "shipment SH-0001 to site ..."
        if (out->rfind("shipment ", 0) != 0) {
          return Fail(ErrorCode::kInternal, "demo: kit ship printed no shipment: " + *out);
        }
        *shipment = out->substr(9, out->find(' ', 9) - 9);
        return {};
      });
      AtDo(day.AddDays(4), [this, s, shipment]() -> Result<void> {
        auto out =
            r_.Run({"kit", "receive", "--shipment", *shipment, "--user", Coordinator(s.id)}, false);
        if (!out) return std::unexpected(out.error());
        return {};
      });
    }
  }

  static std::string Coordinator(const std::string& site) {
    return site == "WCH" ? "wch_coordinator" : "coordinator";
  }
  static std::string Investigator(const std::string& site) {
    return site == "WCH" ? "wch_investigator" : "investigator";
  }

  // Imports `entries` ({form, item, value}) for `visit` of the subject as the site's
  // coordinator, through an import file.
  Result<void> Import(const std::string& site, const std::string& id, const std::string& visit,
                      const json& entries) {
    auto file =
        WriteJson(files_ / ("import-" + std::to_string(++files_written_) + ".json"), entries);
    if (!file) return std::unexpected(file.error());
    auto out = r_.Run(
        {"data", "import", *file, "--subject", id, "--visit", visit, "--user", Coordinator(site)});
    if (!out) return std::unexpected(out.error());
    return {};
  }

  // The consent form on the screening date (AEs need it: docs/safety.md).
  static json ConsentEntries(Date date) {
    return json::array({{{"form", "consent"}, {"item", "consent_date"}, {"value", date.ToString()}},
                        {{"form", "consent"}, {"item", "icf_version"}, {"value", "2.0"}},
                        {{"form", "consent"}, {"item", "signed"}, {"value", "yes"}}});
  }

  // The items of a dosing visit: vital signs, weight and safety labs collected on `date`, with
  // `changes` ({item, value} of safety_labs) replacing the normal values.
  static json VisitEntries(Date date, const std::string& weight,
                           const std::vector<std::pair<std::string, std::string>>& changes = {}) {
    std::vector<std::pair<std::string, std::string>> labs = {{"collected_on", date.ToString()},
                                                             {"wbc", "6.2 10*9/L"},
                                                             {"anc", "3.4 10*9/L"},
                                                             {"lymphocytes", "1.6 10*9/L"},
                                                             {"hemoglobin", "128 g/L"},
                                                             {"platelets", "240 10*9/L"},
                                                             {"alt", "22 U/L"},
                                                             {"alt_uln", "40 U/L"},
                                                             {"ast", "24 U/L"},
                                                             {"ast_uln", "40 U/L"}};
    for (const auto& [item, value] : changes) {
      for (auto& lab : labs) {
        if (lab.first == item) lab.second = value;
      }
    }
    json entries = json::array();
    auto add = [&](const char* form, const std::string& item, const std::string& value) {
      entries.push_back({{"form", form}, {"item", item}, {"value", value}});
    };
    add("vital_signs", "temperature", "36.6");
    add("vital_signs", "heart_rate", "78 /min");
    add("vital_signs", "systolic_bp", "118 mm[Hg]");
    add("vital_signs", "diastolic_bp", "76 mm[Hg]");
    add("weight", "weight", weight);
    for (const auto& [item, value] : labs) add("safety_labs", item, value);
    return entries;
  }

  void AddSubject(const SubjectPlan& s) {
    const bool randomized = s.stage == Stage::kOnTreatment || s.stage == Stage::kCompleted;
    const Date day0 = today_.AddDays(s.day);
    // Randomized subjects are screened a week before day 0, the planned randomization date;
    // the others on their day, with randomization planned a week later.
    const Date screening = randomized ? day0.AddDays(-7) : day0;
    const Date planned = randomized ? day0 : screening.AddDays(7);
    const std::string site = s.site;
    const int copy = ++subjects_;
    auto id = std::make_shared<std::string>();  // the subject id, known once added
    AtDo(screening, [this, s, site, screening, planned, copy, id]() -> Result<void> {
      auto added = r_.Run({"subject", "add", "--site", site, "--number", s.number, "--user",
                           Coordinator(site), "--format", "json"},
                          false);
      if (!added) return std::unexpected(added.error());
      json subject = json::parse(*added, nullptr, false);
      if (subject.is_discarded() || !subject.contains("id")) {
        return Fail(ErrorCode::kInternal, "demo: subject add printed no id: " + *added);
      }
      *id = std::to_string(subject["id"].get<int64_t>());
      if (auto c = Import(site, *id, "SCR", ConsentEntries(screening)); !c) return c;
      auto bundle = ShiftedExample(examples_, s.example, screening, files_, copy);
      if (!bundle) return std::unexpected(bundle.error());
      auto screened = r_.Run({"screen", *bundle, "--screening-date", screening.ToString(),
                              "--randomization-date", planned.ToString(), "--save", "--subject",
                              *id, "--user", Coordinator(site)});
      if (!screened) return std::unexpected(screened.error());
      return {};
    });
    if (!randomized) return;

    // Day 0: randomization (the D0 kit), vital signs, weight, labs, the visit and the first dose.
    AtDo(day0, [this, site, id]() -> Result<void> {
      auto out =
          r_.Run({"randomize", "--subject", *id, "--ild", "present", "--user", Coordinator(site)});
      if (!out) return std::unexpected(out.error());
      return {};
    });
    const std::vector<std::pair<const char*, int>> visits =
        s.stage == Stage::kCompleted
            ? std::vector<std::pair<const char*, int>>{{"D0", 0},
                                                       {"W2", 14},
                                                       {"W4", 28},
                                                       {"W6", 42},
                                                       {"W8", 56}}
            : std::vector<std::pair<const char*, int>>{{"D0", 0}, {"W2", 14}};
    for (const auto& [visit_id, offset] : visits) {
      const std::string visit = visit_id;
      const Date date = day0.AddDays(offset);
      std::vector<std::pair<std::string, std::string>> changes;
      bool withhold = false;
      if (visit == "W2" && s.twist == Twist::kSoftQuery) {
        // Below the soft range 90 g/L (forms.yaml, FACTS §1.4 E3): a query, no hold, no alert.
        changes = {{"hemoglobin", "86 g/L"}};
      }
      if (visit == "W2" && s.twist == Twist::kAlert) {
        // ANC 0.8 x 10^9/L: below the soft range 1.0 (a query), CTCAE grade 3 (FACTS §4.1: a
        // possible-AE alert) and in the hold row of FACTS §3.2 (ANC 500 to 1000/mm3): withheld.
        changes = {{"anc", "0.8 10*9/L"}};
        withhold = true;
      }
      const bool dosed = visit != "W8";  // four doses: D0, W2, W4, W6 (schedule.yaml dose_count)
      AtDo(date,
           [this, site, id, visit, date, weight = std::string(s.weight), changes, withhold,
            dosed]() -> Result<void> {
             if (auto d = Import(site, *id, visit, VisitEntries(date, weight, changes)); !d)
               return d;
             auto v = r_.Run({"visit", "record", "--subject", *id, "--visit", visit, "--date",
                              date.ToString(), "--user", Coordinator(site)});
             if (!v) return std::unexpected(v.error());
             if (!dosed) return {};
             auto d = r_.Run({"dose", withhold ? "withhold" : "record", "--subject", *id, "--visit",
                              visit, "--date", date.ToString(), "--user", Coordinator(site)});
             if (!d) return std::unexpected(d.error());
             return {};
           });
    }
    if (s.twist == Twist::kSae) {
      // Two days after W2: a serious grade 3 lung infection (hospitalization), reported on time;
      // its follow-up report (due 7 days after the initial one: safety.yaml sae_follow_up) is left
      // undone, so it is overdue.
      const Date onset = day0.AddDays(16);
      AtDo(onset, [this, site, id, onset]() -> Result<void> {
        auto added = r_.Run({"ae",          "add",
                             "--subject",   *id,
                             "--term",      "lung_infection",
                             "--grade",     "3",
                             "--onset",     onset.ToString(),
                             "--awareness", onset.ToString() + "T08:00",
                             "--serious",   "hospitalization",
                             "--related",   "possibly_related",
                             "--action",    "drug_interrupted",
                             "--user",      Investigator(site)});
        if (!added) return std::unexpected(added.error());
        // "recorded AE N v1 ..."
        const size_t at = added->find("AE ");
        if (at == std::string::npos) {
          return Fail(ErrorCode::kInternal, "demo: ae add printed no AE id: " + *added);
        }
        const std::string ae = added->substr(at + 3, added->find(' ', at + 3) - at - 3);
        auto reported =
            r_.Run({"sae", "report", ae, "--kind", "initial", "--user", Investigator(site)});
        if (!reported) return std::unexpected(reported.error());
        return {};
      });
    }
    if (s.stage == Stage::kCompleted) {
      // The safety follow-up (schedule.yaml safety_follow_up_day, day 84), then completed.
      const Date sfu = day0.AddDays(84);
      AtDo(sfu, [this, site, id, sfu]() -> Result<void> {
        auto v = r_.Run({"visit", "record", "--subject", *id, "--visit", "SFU", "--date",
                         sfu.ToString(), "--user", Coordinator(site)});
        if (!v) return std::unexpected(v.error());
        auto c = r_.Run({"subject", "status", *id, "--to", "completed", "--reason",
                         "completed treatment and safety follow-up", "--user", Investigator(site)},
                        false);
        if (!c) return std::unexpected(c.error());
        return {};
      });
    }
  }

  Runner& r_;
  Date today_;
  std::string examples_;
  fs::path files_;
  std::vector<Step> steps_;
  int subjects_ = 0;
  int files_written_ = 0;
};

}  // namespace

Result<DemoSummary> CreateDemoDatabase(const std::string& db, const cli::Environment& env,
                                       Date today, const std::string& protocol_dir,
                                       const std::string& examples_dir) {
  auto files = TempDir::Create();
  if (!files) return std::unexpected(files.error());
  Runner runner(db, env, protocol_dir);
  // Refuse a database that already has users before anything else: `trial init` on it writes
  // nothing and says so.
  {
    runner.SetDay(today.AddDays(-120));
    auto init = runner.Run({"init", "--admin", "admin", "--name", "Ada Admin"}, false);
    if (!init) {
      if (init.error().message.find("already has users") != std::string::npos) {
        return Fail(ErrorCode::kInvalidInput,
                    "demo: the database is already initialised (it has users): the demo needs a "
                    "new one");
      }
      return std::unexpected(init.error());
    }
  }
  Script script(runner, today, examples_dir, (*files)->path());
  script.Build();
  if (auto played = script.Play(); !played) return std::unexpected(played.error());

  DemoSummary summary;
  summary.users = Users();
  for (const auto& s : kSites) summary.sites.push_back(s.id);
  summary.subjects = script.subjects();
  return summary;
}

}  // namespace trial::app
