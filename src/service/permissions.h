// Who may do what: the role × action matrix, written once as data (permissions.cc) and shown in
// docs/access.md (PermissionMatrixMarkdown(), pasted between markers; tests/api_test.cc checks
// the copy). Every interface asks here before acting: the HTTP API and the web pages check each
// request's action, and site-scoped roles are held to their sites. The store keeps its own
// checks as a second line (a refusal there is kPermissionDenied too); the access test
// (tests/api_test.cc) walks the matrix to show both agree.
//
// Actions are the API's names for the command-line verbs: "kit.dispense" is `trial kit
// dispense`, "randomize" is `trial randomize`.
// Errors: Authorize fails with kPermissionDenied naming the user, role and action.
// Thread-safety: the matrix is immutable; everything here is reentrant.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "store/store.h"

namespace trial::service {

// One row of the matrix.
struct Permission {
  std::string_view action;         // "kit.dispense"
  std::vector<store::Role> roles;  // the roles allowed
  std::string_view why;            // one line for docs/access.md
};

// The whole matrix, in the order docs/access.md lists it.
std::span<const Permission> PermissionMatrix();

// The row of `action`, or nullptr for an unknown action.
const Permission* FindPermission(std::string_view action);

// Whether `role` may perform `action` (false for an unknown action: deny by default).
bool Allowed(store::Role role, std::string_view action);

// kPermissionDenied unless `user`'s role may perform `action`.
Result<void> Authorize(const store::User& user, std::string_view action);

// kPermissionDenied when `user` is site-scoped and `site` is not one of theirs.
Result<void> AuthorizeSite(const store::User& user, const std::string& site);

// The matrix as a Markdown table (roles as columns), for docs/access.md.
std::string PermissionMatrixMarkdown();

}  // namespace trial::service
