# Installation and the Debian package (included at the end of the top-level CMakeLists.txt).
#
#   cmake --install build --prefix P   P/bin/weipian                       (rule in app/CMakeLists.txt)
#                                      P/share/weipian/configs/*.yaml       example configurations
#                                      P/share/weipian/sample_tiles/        the synthetic sample scene (4 MB)
#                                      P/share/doc/weipian/                 README.md (+ README.configs.md)
#   cd build && cpack                  weipian_<version>_amd64.deb (installs under /usr)
#
# The configs keep their layout next to sample_tiles/, so the installed sample runs as is:
#   weipian run --config /usr/share/weipian/configs/sample.yaml --out /tmp/weipian-sample
# (--out: the sample's own output.dir, ../out/sample, would land under /usr/share).
# Nothing at run time refers to the source tree; only the tests do (WEIPIAN_SOURCE_DIR).

# Installing (and cpack) packages what is built and does not first build every target (tests,
# benchmarks): `cmake --build build --target weipian && cd build && cpack` is enough.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(WEIPIAN_INSTALL_DATADIR "${CMAKE_INSTALL_DATADIR}/weipian")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/configs/" DESTINATION "${WEIPIAN_INSTALL_DATADIR}/configs"
        COMPONENT weipian FILES_MATCHING PATTERN "*.yaml" PATTERN "README.md")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/sample_tiles/" DESTINATION "${WEIPIAN_INSTALL_DATADIR}/sample_tiles"
        COMPONENT weipian)

# Documentation: the user's README, and the configurations' README when configs/ has one
# (the sample scene's README travels with it in share/weipian/sample_tiles/).
install(FILES "${PROJECT_SOURCE_DIR}/README.md" DESTINATION "${CMAKE_INSTALL_DOCDIR}" COMPONENT weipian)
if(EXISTS "${PROJECT_SOURCE_DIR}/configs/README.md")
  install(FILES "${PROJECT_SOURCE_DIR}/configs/README.md" DESTINATION "${CMAKE_INSTALL_DOCDIR}"
          RENAME README.configs.md COMPONENT weipian)
endif()

# The Debian package. dpkg-shlibdeps (dpkg-dev, pulled in by build-essential) computes Depends
# from the libraries the executable links (libgdal32, libopencv-*406, libtbb12, libyaml-cpp0.7,
# libspdlog1.10, libssl3, libxlsxwriter1, ...), so `apt install ./weipian_*.deb` pulls them.
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "weipian")
set(CPACK_PACKAGE_VENDOR "weipian")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "new construction between two epochs of satellite tiles, per township")
set(CPACK_PACKAGE_DESCRIPTION
  "weipian (卫片) compares two epochs of satellite tiles (GDAL rasters) and lists the new
construction it finds as candidate parcels (图斑) per township, with areas in mu and the share on
cultivated land, for county land-enforcement teams to verify on site. It writes a GeoPackage,
a CSV and a summary per run and can keep a case ledger. The sample scene and example
configurations are in /usr/share/weipian.")
set(CPACK_PACKAGE_CONTACT "weipian maintainers <weipian@localhost>")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)          # weipian_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# GDAL's and PROJ's data files come with them: libgdal32 depends on gdal-data, libproj25 on proj-data.
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_GENERATOR "")
include(CPack)
