# One static library per layer of src/, and the include rule that makes the
# layer arrows (docs/ARCHITECTURE.md) a build error when broken.
#
# Sources include headers as "layer/file.h" relative to src/. A library does
# not get src/ on its include path: it gets build/inc/<target>/, which holds
# one symlink, build/inc/<target>/<folder> -> src/<folder>. So a library sees
# its own headers, the headers of the libraries it links (their include
# directories travel along PUBLIC links), and include/ (the wire structs);
# "transport/tcp/tcp_internal.h" from src/nvmf is "No such file".
#
# Adding a layer (e.g. src/sock) is one file, src/sock/CMakeLists.txt:
#     # sock: the socket seam for TCP (plain, TLS next).
#     unvmf_add_layer(sock
#                     PRIVATE util)
# then add `sock` to the link lists of its users (transport/tcp, host): those
# lines are the arrows. src/CMakeLists.txt picks up every folder that has a
# CMakeLists.txt; new .c files in a layer need no CMake edit.
#
# unvmf_add_layer(<target> [PUBLIC <deps>...] [PRIVATE <deps>...] [EXCLUDE <regex>])
#   PUBLIC:  dependencies the layer's headers include (users see them too)
#   PRIVATE: dependencies only its .c files include
#   EXCLUDE: sources matching the regex are left out (optional parts)
function(unvmf_add_layer target)
  cmake_parse_arguments(L "" "EXCLUDE" "PUBLIC;PRIVATE" ${ARGN})
  file(RELATIVE_PATH folder ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
  if(L_EXCLUDE)
    list(FILTER srcs EXCLUDE REGEX "${L_EXCLUDE}")
  endif()
  add_library(${target} STATIC ${srcs})
  unvmf_layer_include_dir(${target} ${folder} inc)
  target_include_directories(${target} PUBLIC ${inc} ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${target} PUBLIC ${L_PUBLIC} PRIVATE ${L_PRIVATE})
endfunction()

# Sets <out> to build/inc/<target>, holding the one link <folder> -> src/<folder>.
function(unvmf_layer_include_dir target folder out)
  set(inc ${PROJECT_BINARY_DIR}/inc/${target})
  get_filename_component(parent ${inc}/${folder} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${folder} ${inc}/${folder} SYMBOLIC)
  set(${out} ${inc} PARENT_SCOPE)
endfunction()
