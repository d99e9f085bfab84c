// `trial serve` and the sign-in verbs that need the server's hashing (app/ wires http/ to the
// storage backends):
//   trial serve [--db D] [--address A] [--port P] [--tls-cert F --tls-key F] [--web DIR]
//               [--protocol DIR] [--threads N] [--demo]
//   trial user password USERNAME --user ADMIN_OR_SELF [--password-file F]   (else stdin)
// Exit codes as cli.h. Thread-safety: as cli::Run.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "cli/cli.h"

namespace trial::app {

// Runs `serve` or `user password`; returns -1 for any other verb.
int RunServerCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                     const cli::Environment& env);

}  // namespace trial::app
