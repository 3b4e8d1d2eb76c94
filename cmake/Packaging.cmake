# The Debian package: `cmake --build build --target package` writes
# build/cppfpm_<version>_<arch>.deb (CPack's DEB generator). Everything it
# installs comes from deploy/; paths follow Debian 12 (units in
# /lib/systemd/system). A build with the test-only /__test/ pages
# (CPPFPM_TEST_PAGES, on in Debug/RelWithDebInfo test builds) refuses to be
# packaged: configure a Release tree for that (tests/package/run does).
set(pkg_deploy ${PROJECT_SOURCE_DIR}/deploy)
set(pkg_stage ${PROJECT_BINARY_DIR}/package-stage)

install(TARGETS cppfpm RUNTIME DESTINATION sbin)
install(FILES ${pkg_deploy}/etc/cppfpm.conf DESTINATION /etc/cppfpm)
install(FILES ${pkg_deploy}/etc/pool.d/www.conf DESTINATION /etc/cppfpm/pool.d)
install(FILES ${pkg_deploy}/logrotate/cppfpm DESTINATION /etc/logrotate.d)
install(FILES ${pkg_deploy}/systemd/cppfpm.service DESTINATION /lib/systemd/system)
install(FILES ${pkg_deploy}/tmpfiles/cppfpm.conf DESTINATION lib/tmpfiles.d)
install(FILES ${pkg_deploy}/status/status.html ${pkg_deploy}/status/nginx-status.conf
        DESTINATION share/cppfpm)
install(FILES ${pkg_deploy}/package/copyright DESTINATION share/doc/cppfpm)

# Debian wants the man page and the changelog gzipped, reproducibly (-n).
file(MAKE_DIRECTORY ${pkg_stage})
string(TIMESTAMP pkg_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE ${pkg_stage}/changelog
     "cppfpm (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
     "  * Debian package built by CPack (cmake/Packaging.cmake).\n\n"
     " -- cppfpm maintainers <maintainers@cppfpm.invalid>  ${pkg_date}\n")
add_custom_command(
  OUTPUT ${pkg_stage}/cppfpm.8.gz ${pkg_stage}/changelog.gz
  COMMAND gzip -9n -c ${pkg_deploy}/man/cppfpm.8 > ${pkg_stage}/cppfpm.8.gz
  COMMAND gzip -9n -c ${pkg_stage}/changelog > ${pkg_stage}/changelog.gz
  DEPENDS ${pkg_deploy}/man/cppfpm.8 ${pkg_stage}/changelog
  COMMENT "Compressing the man page and the changelog for the package")
add_custom_target(cppfpm_package_docs ALL DEPENDS ${pkg_stage}/cppfpm.8.gz ${pkg_stage}/changelog.gz)
install(FILES ${pkg_stage}/cppfpm.8.gz DESTINATION share/man/man8)
install(FILES ${pkg_stage}/changelog.gz DESTINATION share/doc/cppfpm)
# Logs live here; the unit's LogsDirectory= and the postinst make it too.
install(DIRECTORY DESTINATION /var/log/cppfpm DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE
        OWNER_EXECUTE GROUP_READ GROUP_EXECUTE)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cppfpm)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "cppfpm maintainers <maintainers@cppfpm.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "FastCGI process manager serving compiled C++ pages")
# The extended description only: CPack puts the summary above it and
# indents each line (an empty line becomes the " ." paragraph break).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "cppfpm takes php-fpm's place behind nginx: it reads php-fpm's configuration
format, manages processes as php-fpm does (static, dynamic, ondemand),
writes php-fpm's log lines and status page, and answers with pages compiled
into the binary. Sessions are PHP sessions in memcached.

This package ships the server, a default pool, a systemd unit, a logrotate
rule, a tmpfiles.d entry and a status dashboard page.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION httpd)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/cppfpm/cppfpm")
# The runtime libraries, as dpkg-shlibdeps finds them for the binary.
find_program(PKG_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(PKG_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  message(STATUS "dpkg-shlibdeps not found (package dpkg-dev): the package will list no Depends")
endif()
# www-data is the pool's user (package passwd, always there); logrotate
# and nginx are what a site runs it with.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "logrotate, nginx | httpd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "memcached, mariadb-server")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${pkg_deploy}/package/conffiles;${pkg_deploy}/package/postinst;${pkg_deploy}/package/prerm;${pkg_deploy}/package/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# Refuses, at package time, a build that carries the /__test/ pages.
set(CPACK_PROJECT_CONFIG_FILE ${pkg_stage}/CPackProjectConfig.cmake)
if(CPPFPM_TEST_PAGES)
  file(WRITE ${CPACK_PROJECT_CONFIG_FILE}
       "message(FATAL_ERROR \"this build has the test-only /__test/ pages (CPPFPM_TEST_PAGES=ON): "
       "package a Release build (cmake -DCMAKE_BUILD_TYPE=Release)\")\n")
else()
  file(WRITE ${CPACK_PROJECT_CONFIG_FILE} "# nothing to check\n")
endif()

include(CPack)
