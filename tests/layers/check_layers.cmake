# Builds each layer probe (tests/layers/CMakeLists.txt) and checks the verdict:
# "fail" probes must fail because their header is not found, "ok" probes must
# build. Then no source under src/ may reach around the rule with "../".
#   cmake -DBUILD_DIR=... -DSRC_DIR=... -DCASES="probe_x|fail|header;..." -P check_layers.cmake
set(errors 0)
foreach(case ${CASES})
  string(REPLACE "|" ";" fields "${case}")
  list(GET fields 0 target)
  list(GET fields 1 expect)
  list(GET fields 2 header)
  # A failing probe leaves no object, so it compiles again on every run; a
  # good one is rebuilt whenever its headers or include path change.
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${target}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(expect STREQUAL "ok")
    if(NOT rc EQUAL 0)
      message(SEND_ERROR "${target}: an allowed include does not build:\n${out}")
      math(EXPR errors "${errors} + 1")
    else()
      message(STATUS "${target}: builds, as it must")
    endif()
  else()
    string(FIND "${out}" "${header}: No such file" at)
    if(rc EQUAL 0)
      message(SEND_ERROR "${target}: the forbidden include of ${header} builds")
      math(EXPR errors "${errors} + 1")
    elseif(at EQUAL -1)
      message(SEND_ERROR "${target}: fails, but not because ${header} is invisible:\n${out}")
      math(EXPR errors "${errors} + 1")
    else()
      message(STATUS "${target}: ${header} not found, as it must")
    endif()
  endif()
endforeach()

file(GLOB_RECURSE sources ${SRC_DIR}/src/*.c ${SRC_DIR}/src/*.h)
foreach(f ${sources})
  file(STRINGS ${f} up REGEX "^[ \t]*#[ \t]*include[ \t]*\"\\.\\./")
  if(up)
    message(SEND_ERROR "${f}: includes through \"../\", around the layer rule: ${up}")
    math(EXPR errors "${errors} + 1")
  endif()
endforeach()

if(errors GREATER 0)
  message(FATAL_ERROR "layer rule: ${errors} failure(s)")
endif()
