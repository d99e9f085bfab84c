# Helpers for `trial` targets: one function per target kind.
#
#   trial_module(NAME DEPS <targets...>)
#       From src/NAME/CMakeLists.txt: static library trial_NAME from every *.cc in the folder except
#       *_test.cc and *_fuzz.cc; includes are rooted at src/ ("core/date.h"). If the folder has
#       *_test.cc files and BUILD_TESTING is on, also the GoogleTest executable NAME_test.
#   trial_test(NAME SOURCES <files...> DEPS <targets...>)
#       A GoogleTest executable linked to gtest_main + gmock, registered with ctest (PRE_TEST
#       discovery), run from the project source dir with TRIAL_SHARED=<source>/../shared.
#   trial_fuzzer(NAME SOURCES <files...> DEPS <targets...>)
#       A libFuzzer executable, only when TRIAL_FUZZ=ON; NAME must end in `_fuzz`. The binary goes
#       to <build>/fuzz/ and its seed corpus is expected in fuzz/corpus/<NAME without _fuzz>/.
include_guard(GLOBAL)

set(TRIAL_SANITIZER_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=all)

if(TRIAL_SANITIZE)
  add_compile_options(${TRIAL_SANITIZER_FLAGS})
  add_link_options(${TRIAL_SANITIZER_FLAGS})
endif()

if(TRIAL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "TRIAL_FUZZ=ON requires clang++ (configure with CXX=clang++-16)")
  endif()
  # Instrument all code (libraries included) for coverage-guided fuzzing; only fuzzer targets
  # link the libFuzzer main.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  # libstdc++ 12 only exposes <expected> when __cpp_concepts >= 202002L; clang <= 18 still reports
  # 201907L although clang >= 16 implements what <expected> needs (P0848). clang 14/15 cannot
  # compile it at all.
  if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 16)
    message(WARNING "clang ${CMAKE_CXX_COMPILER_VERSION} cannot compile libstdc++'s std::expected;"
                    " use clang++-16")
  endif()
  add_compile_options(-D__cpp_concepts=202002L -Wno-macro-redefined)
endif()

function(trial_test NAME)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES;DEPS")
  add_executable(${NAME} ${ARG_SOURCES})
  target_include_directories(${NAME} PRIVATE "${PROJECT_SOURCE_DIR}/src")
  target_link_libraries(${NAME} PRIVATE ${ARG_DEPS} GTest::gtest_main GTest::gmock)
  gtest_discover_tests(${NAME}
    DISCOVERY_MODE PRE_TEST
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
    PROPERTIES ENVIRONMENT "TRIAL_SHARED=${PROJECT_SOURCE_DIR}/../shared")
endfunction()

function(trial_module NAME)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "DEPS")
  file(GLOB _all_sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/*.cc")
  file(GLOB _test_sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc")
  set(_lib_sources ${_all_sources})
  list(FILTER _lib_sources EXCLUDE REGEX "_(test|fuzz)\\.cc$")

  if(_lib_sources)
    add_library(trial_${NAME} STATIC ${_lib_sources})
    target_include_directories(trial_${NAME} PUBLIC "${PROJECT_SOURCE_DIR}/src")
    target_link_libraries(trial_${NAME} PUBLIC ${ARG_DEPS})
  else()
    # Header-only (or not yet written) module: keep the target so dependents still link.
    add_library(trial_${NAME} INTERFACE)
    target_include_directories(trial_${NAME} INTERFACE "${PROJECT_SOURCE_DIR}/src")
    target_link_libraries(trial_${NAME} INTERFACE ${ARG_DEPS})
  endif()

  if(_test_sources AND BUILD_TESTING)
    trial_test(${NAME}_test SOURCES ${_test_sources} DEPS trial_${NAME})
  endif()
endfunction()

function(trial_fuzzer NAME)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES;DEPS")
  if(NOT TRIAL_FUZZ)
    return()
  endif()
  if(NOT NAME MATCHES "_fuzz$")
    message(FATAL_ERROR "trial_fuzzer: name '${NAME}' must end in _fuzz (make test runs *_fuzz)")
  endif()
  add_executable(${NAME} ${ARG_SOURCES})
  target_include_directories(${NAME} PRIVATE "${PROJECT_SOURCE_DIR}/src")
  target_link_libraries(${NAME} PRIVATE ${ARG_DEPS})
  target_compile_options(${NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
  set_target_properties(${NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/fuzz")
endfunction()
