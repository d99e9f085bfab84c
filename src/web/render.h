// The web UI's HTML: mustache templates and translation catalogs loaded once from a folder
// (`web/` at the repository root), and `Renderer::Page`, which renders one page inside the
// layout. The HTTP layer routes a request, gathers the page's data (mostly the JSON objects the
// CLI prints with `--format json`) and sends what `Page` returns. docs/web.md has the pages, the
// translation rules and how to add a string.
//
// Folder layout read by `Load`:
//   templates/layout.mustache      the frame; the page's HTML goes in its `{{{content}}}` slot
//   templates/<page>.mustache      one per page (`Pages()` lists them)
//   templates/_<name>.mustache     partials, used as `{{> _name}}` (e.g. `{{> _csrf}}`)
//   i18n/<lang>.json               one flat object per language: "nav.subjects": "Subjects"
//
// What every page's template sees:
//   the caller's `data` (keys below), HTML-escaped by `{{name}}`;
//   `t`     the catalog of the language as nested objects: "nav.subjects" is `{{t.nav.subjects}}`;
//   `tr`    a section that translates a key built from data: `{{#tr}}verdict|{{verdict}}{{/tr}}`
//           shows "verdict.<value>" of the catalog (spaces in the value read as '_'), or the
//           value itself when there is no such key (always escaped);
//   `sel` / `chk`  `{{#sel}}{{ae.grade}}=3{{/sel}}` writes " selected" (`chk`: " checked") when
//           the rendered value, or one item of a comma-separated list, equals the text after
//           the last '=' (to pre-fill <select> and checkboxes); nothing else is ever written;
//   `lang`  the language tag ("en", "zh-CN"); `lang_en` / `lang_zh` booleans;
//   `title` the page's title (catalog key "title.<page>");
//   `svg`   the charts drawn by this module from the data (below); the only unescaped slot.
// Templates may use `{{{ }}}` only for `content` and `svg.*`; `Load` rejects any other.
// The keys `t`, `tr`, `sel`, `chk`, `svg`, `content`, `title`, `lang`, `lang_en`, `lang_zh` are
// reserved: data that has one of them at top level is refused.
//
// Data keys each page reads (all optional unless marked *; `user`, `site`, `csrf`, `flash`
// are read by the layout on every page):
//   layout      user {id, name, role}, site, csrf*, flash {kind, text}
//   login       error, next
//   dashboard   enrollment {target*, start*, end*, dates[] (randomization dates),
//               sites[] {site, name, randomized, target}}, visits {due[], overdue[]}
//               (rows of `visit list` with subject_id added), queries (`query list`),
//               alerts (`alerts`: its alerts[] and sae_reports_due[])
//   subjects    subjects[] (`subject list`: id, site, screening_number, status, created_at),
//               add {sites[], choose, error} (the add form: a site list when `choose`)
//   subject     subject (`subject show`), visits (`visit list`), forms[] {visit, form,
//               items[] {item, label, value, unit, status, messages[] {severity, text},
//               queries[] {id, status, text}}}, charts {x[] (visit names), fvc[], spo2[],
//               tis[]} (numbers or null per visit; drawn as "FVC % predicted", "SpO₂" and "TIS"),
//               subject_queries[] (`query list` rows: answer forms; and the open-query form)
//   screening   subject, today, error (the bundle form, multipart), screening (`screen
//               --format json`: verdict, screening_date, ..., criteria[] {id, kind, text,
//               result, explanation, missing[]})
//   randomize   subject {id, site, screening_number}, error, result {randomization_number}
//               (after the POST; nothing else of the allocation is shown)
//   dispense    subject, visit, kits[] (`kit list`), dispensed {kit_number, visit}, error
//   aes         aes (`ae list`)
//   ae_form     subject, ae (an existing AE to edit: its values are pre-filled), errors[],
//               terms {ids[]} (the AE term ids of safety.yaml; without it the term is typed)
//   alerts      alerts (`alerts`: {alerts[], sae_reports_due[]})
//   audit       events (`audit show`), next_after (the seq the next page starts after)
//   unblind     subject, error, result {arm}
//   admin       users[] {id, name, role, sites[]}, sites[] {id, name}, kits[] (`kit list`)
//   error       status, message
//
// Errors: `Load` returns kNotFound (missing folder, templates/layout.mustache, or no catalog),
// kParse (a template that does not parse, a catalog that is not a JSON object of strings) and
// kInvalidInput (catalogs with different keys, an empty string, a key that is a prefix of
// another, a page without its "title.<page>", a forbidden `{{{ }}}`), each naming the file.
// `Page` returns kInvalidArgument for an unknown page or language, a reserved data key or chart
// data that cannot be drawn, and kInternal if a template fails at render time.
// Thread-safety: after `Load`, a Renderer is immutable; `Page` may be called from any number of
// threads at once.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace trial::web {

class Renderer {
 public:
  // Reads and checks every template and catalog under `dir` (see above).
  static Result<Renderer> Load(const std::filesystem::path& dir);

  Renderer(Renderer&&) noexcept;
  Renderer& operator=(Renderer&&) noexcept;
  ~Renderer();

  // The HTML document of `page` in `lang` (a catalog name: "en", "zh-CN") with `data`.
  Result<std::string> Page(std::string_view page, const nlohmann::json& data,
                           std::string_view lang) const;

  // The catalog text of `key` in `lang`, for messages built outside templates (kInvalidArgument
  // for an unknown language, kNotFound for an unknown key).
  Result<std::string> Text(std::string_view key, std::string_view lang) const;

  std::vector<std::string> Pages() const;      // sorted page names
  std::vector<std::string> Languages() const;  // sorted catalog names

 private:
  struct Impl;
  explicit Renderer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace trial::web
