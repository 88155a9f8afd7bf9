# `cmake --install` of gshard: headers (including the tablegen'd .h.inc and
# protoc's .pb.h from the build tree), the libraries, the tools, and a CMake
# package so that a project can say
#
#   find_package(GShard CONFIG REQUIRED)
#   target_link_libraries(tool PRIVATE GShard::API)   # or GShard::IR, ...
#
# (docs/library.md). Included from the top-level CMakeLists.txt after every
# component and tool is defined.
include(CMakePackageConfigHelpers)

set(GSHARD_INSTALL_INCLUDEDIR include)
set(GSHARD_INSTALL_LIBDIR lib${LLVM_LIBDIR_SUFFIX})
set(GSHARD_INSTALL_BINDIR bin)
set(GSHARD_INSTALL_CMAKEDIR ${GSHARD_INSTALL_LIBDIR}/cmake/gshard)

# Every component library, exported as GShard::<Component> (GShardIR is
# GShard::IR). add_mlir_library installs the archive but exports it nowhere;
# installing it again here puts it in gshard's own export set.
set(GSHARD_EXPORTED_TARGETS)
foreach(component IR Sharding Import Export Proto Propagation Partitioner Sim
                  API)
  set(target GShard${component})
  if(NOT TARGET ${target})
    continue()
  endif()
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${component})
  target_include_directories(${target} INTERFACE
    $<INSTALL_INTERFACE:${GSHARD_INSTALL_INCLUDEDIR}>)
  target_compile_features(${target} INTERFACE cxx_std_17)
  list(APPEND GSHARD_EXPORTED_TARGETS ${target})
endforeach()

# The command-line tools (GShard::gshard-opt, GShard::gshard-sim). They find
# libMLIR.so where they were linked against it.
foreach(tool gshard-opt gshard-sim)
  if(TARGET ${tool})
    set_property(TARGET ${tool} APPEND PROPERTY INSTALL_RPATH
                 "${LLVM_LIBRARY_DIR}")
    list(APPEND GSHARD_EXPORTED_TARGETS ${tool})
  endif()
endforeach()

install(TARGETS ${GSHARD_EXPORTED_TARGETS}
  EXPORT GShardTargets
  ARCHIVE DESTINATION ${GSHARD_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${GSHARD_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${GSHARD_INSTALL_BINDIR})

# Public headers, the .def tables and .td files they are built from, and
# the .proto schemas; then what the build generated from them.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/gshard
  DESTINATION ${GSHARD_INSTALL_INCLUDEDIR}
  FILES_MATCHING
  PATTERN "*.h" PATTERN "*.def" PATTERN "*.td" PATTERN "*.proto")
install(DIRECTORY ${PROJECT_BINARY_DIR}/include/gshard
  DESTINATION ${GSHARD_INSTALL_INCLUDEDIR}
  FILES_MATCHING
  PATTERN "*.h.inc" PATTERN "*.pb.h"
  PATTERN "CMakeFiles" EXCLUDE)

install(EXPORT GShardTargets
  NAMESPACE GShard::
  FILE GShardTargets.cmake
  DESTINATION ${GSHARD_INSTALL_CMAKEDIR})

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/GShardConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/GShardConfig.cmake
  INSTALL_DESTINATION ${GSHARD_INSTALL_CMAKEDIR}
  PATH_VARS GSHARD_INSTALL_INCLUDEDIR)
# 0.x: minor versions may break the API.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/GShardConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/GShardConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/GShardConfigVersion.cmake
  DESTINATION ${GSHARD_INSTALL_CMAKEDIR})
