# What "cmake --install" puts where (GNUInstallDirs), and the Debian package
# (CPack DEB) made from the same rules.
#
# A package for /usr: configure with -DCMAKE_INSTALL_PREFIX=/usr, then the
# config goes to /etc/unvmf (GNUInstallDirs maps the /usr prefix's sysconfdir
# to /etc) and the unit names /usr/bin/unvmf-tgt; "cpack -G DEB" in that build
# directory writes unvmf_<version>_<arch>.deb. The unit and the maintainer
# scripts are configured with the same paths the files are installed to.
include(GNUInstallDirs)

set(UNVMF_SYSTEMD_UNIT_DIR "lib/systemd/system"
    CACHE STRING "systemd system unit directory, relative to the install prefix")
set(UNVMF_CONFIG_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/unvmf)
set(UNVMF_DEFAULT_FILE ${CMAKE_INSTALL_FULL_SYSCONFDIR}/default/unvmf-tgt)
set(unvmf_pkg_dir ${PROJECT_BINARY_DIR}/packaging)

install(TARGETS unvmf-tgt unvmf-perf unvmf-identify unvmf-rpc
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Man pages are roff sources (docs/man), installed gzipped as Debian wants them.
set(unvmf_man_pages unvmf-tgt.8 unvmf-perf.1 unvmf-identify.1 unvmf-rpc.1)
set(unvmf_man_gz "")
foreach(page ${unvmf_man_pages})
  string(REGEX MATCH "[0-9]$" section ${page})
  set(gz ${PROJECT_BINARY_DIR}/man/${page}.gz)
  add_custom_command(OUTPUT ${gz}
                     COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
                     COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/docs/man/${page} > ${gz}
                     DEPENDS ${PROJECT_SOURCE_DIR}/docs/man/${page}
                     COMMENT "Compressing man page ${page}")
  list(APPEND unvmf_man_gz ${gz})
  install(FILES ${gz} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(man_pages ALL DEPENDS ${unvmf_man_gz})

configure_file(${PROJECT_SOURCE_DIR}/packaging/unvmf-tgt.service.in
               ${unvmf_pkg_dir}/unvmf-tgt.service @ONLY)
install(FILES ${unvmf_pkg_dir}/unvmf-tgt.service DESTINATION ${UNVMF_SYSTEMD_UNIT_DIR})
# Absolute destinations: /etc for a /usr prefix (a package stages them, see
# CPACK_SET_DESTDIR below); "cmake --install" honours DESTDIR for them too.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/unvmf-tgt.json DESTINATION ${UNVMF_CONFIG_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/unvmf-tgt.default
        DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/default RENAME unvmf-tgt)

# ---- Debian package ----
set(UNVMF_UNIT_NAME unvmf-tgt.service)
configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/conffiles.in ${unvmf_pkg_dir}/conffiles @ONLY)
foreach(script postinst prerm postrm)
  configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/${script}.in ${unvmf_pkg_dir}/${script}
                 @ONLY FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                 GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME unvmf)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "unvmf")
set(CPACK_PACKAGE_CONTACT "unvmf maintainers <maintainers@users.noreply.r-seed-59022cb4.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "userspace NVMe over Fabrics target and tools (TCP, RDMA)")
# The long description (the summary above is its first line): one string.
string(CONCAT CPACK_DEBIAN_PACKAGE_DESCRIPTION
       "unvmf-tgt exports RAM, null and file-backed namespaces to NVMe over Fabrics\n"
       "hosts over NVMe/TCP and RDMA, configured by JSON and by a JSON-RPC socket\n"
       "with SPDK's method names (unvmf-rpc). unvmf-perf and unvmf-identify are a\n"
       "load generator and an identify tool for any NVMe-oF target. The systemd\n"
       "unit unvmf-tgt.service is installed but not enabled.")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Depends: from the shared libraries the binaries link (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${unvmf_pkg_dir}/conffiles ${unvmf_pkg_dir}/postinst
                                       ${unvmf_pkg_dir}/prerm ${unvmf_pkg_dir}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Stage every file, /etc ones included, under CPack's own directory: without
# this an absolute destination would be written to the build host's /etc.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
include(CPack)
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "unvmf: install prefix ${CMAKE_INSTALL_PREFIX}; a Debian package wants "
                 "-DCMAKE_INSTALL_PREFIX=/usr (config in /etc/unvmf)")
endif()

add_subdirectory(tests/package)
