# libsystemd: unvmf-tgt reports start-up and shutdown to systemd (sd_notify),
# so the unit is Type=notify and "systemctl start" returns once the listeners
# accept. Debian ships it (libsystemd-dev) and scripts/deps.sh installs it;
# without it the target cannot report, and the installed unit is Type=simple
# ("started" as soon as the process runs).
pkg_check_modules(SYSTEMD IMPORTED_TARGET libsystemd)
option(UNVMF_SYSTEMD "sd_notify readiness in unvmf-tgt (needs libsystemd)" ${SYSTEMD_FOUND})
if(UNVMF_SYSTEMD AND NOT SYSTEMD_FOUND)
  message(FATAL_ERROR "UNVMF_SYSTEMD=ON needs libsystemd (pkg-config)")
endif()
if(UNVMF_SYSTEMD)
  set(UNVMF_UNIT_TYPE notify)
else()
  set(UNVMF_UNIT_TYPE simple)
endif()
message(STATUS "unvmf: systemd notify ${UNVMF_SYSTEMD} (unit Type=${UNVMF_UNIT_TYPE})")
