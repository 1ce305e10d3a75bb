# Helpers shared by every module's CMakeLists.
#
# LibTorch's headers cost 25-30 s per translation unit. One precompiled header
# (dec_torch_pch) is built once and reused by every target that links torch,
# which requires those targets to share its compile flags: use dec_use_torch().

function(dec_torch_pch)
  file(WRITE ${CMAKE_BINARY_DIR}/dec_pch_dummy.cc "")
  add_library(dec_torch_pch STATIC ${CMAKE_BINARY_DIR}/dec_pch_dummy.cc)
  target_link_libraries(dec_torch_pch PUBLIC ${TORCH_LIBRARIES})
  target_include_directories(dec_torch_pch PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_precompile_headers(dec_torch_pch PRIVATE <torch/torch.h>)
endfunction()

# dec_use_torch(target): link LibTorch and reuse the shared precompiled header.
function(dec_use_torch target)
  target_link_libraries(${target} PUBLIC ${TORCH_LIBRARIES})
  target_precompile_headers(${target} REUSE_FROM dec_torch_pch)
endfunction()

# dec_add_library(name SOURCES ... [DEPS ...] [TORCH])
function(dec_add_library name)
  cmake_parse_arguments(A "TORCH" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${A_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${A_DEPS})
  target_compile_options(${name} PRIVATE -Wall -Wextra)
  if(A_TORCH)
    dec_use_torch(${name})
  endif()
endfunction()

# dec_add_test(name SOURCES ... [DEPS ...] [TORCH] [LABELS ...] [TIMEOUT s])
# One ctest entry per test binary: LibTorch costs ~0.3 s to load per process,
# which per-test discovery would pay hundreds of times. Every binary runs under
# a timeout: a test that can hang is a bug.
function(dec_add_test name)
  cmake_parse_arguments(A "TORCH" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE DEC_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
                                             DEC_BINARY_DIR="${CMAKE_BINARY_DIR}")
  if(A_TORCH)
    dec_use_torch(${name})
  endif()
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  add_test(NAME ${name} COMMAND ${name} --gtest_color=no)
  set_tests_properties(${name} PROPERTIES TIMEOUT ${A_TIMEOUT})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "OPENBLAS_NUM_THREADS=1;OMP_NUM_THREADS=1")
  if(A_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${A_LABELS}")
  endif()
endfunction()

# dec_add_bench(name SOURCES ... [DEPS ...] [TORCH]): a program, never a test.
# Benchmarks are not part of `all` (the test run does not need them): the
# target `benches` builds them all, as `scripts/dev build` does.
function(dec_add_bench name)
  cmake_parse_arguments(A "TORCH" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} EXCLUDE_FROM_ALL ${A_SOURCES})
  if(NOT TARGET benches)
    add_custom_target(benches)
  endif()
  add_dependencies(benches ${name})
  target_link_libraries(${name} PRIVATE ${A_DEPS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
  if(A_TORCH)
    dec_use_torch(${name})
  endif()
endfunction()
