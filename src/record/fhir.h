// FHIR R4 import: one Bundle about one patient -> PatientRecord.
//
// Reads real-world FHIR: unknown elements and resource types are ignored, references may be
// `urn:uuid:` full URLs or `Patient/<id>`, display strings are never used for matching.
// Thread-safety: stateless functions; safe to call concurrently.
#pragma once

#include <string_view>

#include "core/error.h"
#include "record/record.h"

namespace trial::record {

// Parses `json` (the text of a FHIR R4 Bundle of type collection, transaction, searchset, ...).
// Fails, leaving nothing behind, with:
//  - kParse: malformed JSON ("malformed JSON at byte 1234: ..."), an unparseable date
//    ("Observation/wbc: effectiveDateTime '2026-13-01' is not a valid date"), a malformed unit;
//  - kInvalidInput: not a Bundle, no Patient, two Patients, a resource about another patient
//    ("Observation/x: subject 'Patient/other' is not the bundle's patient").
// Every message names the resource (type/id) and the element at fault.
Result<PatientRecord> ReadBundle(std::string_view json);

}  // namespace trial::record
