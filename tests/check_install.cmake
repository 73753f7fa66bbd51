# Installs the build into a scratch prefix, then builds examples/consumer
# against it twice: with find_package(weir) and with pkg-config. Runs both.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
execute_process(COMMAND ${CMAKE} --install ${BUILD_DIR} --prefix ${prefix}
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed")
endif()

execute_process(COMMAND ${CMAKE} -S ${SOURCE_DIR}/examples/consumer -B ${WORK_DIR}/build
                -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${CC}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the consumer with find_package(weir) failed")
endif()
execute_process(COMMAND ${CMAKE} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the consumer failed")
endif()
set(ENV{LD_LIBRARY_PATH} ${prefix}/lib)
execute_process(COMMAND ${WORK_DIR}/build/consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "weir 0\\.")
  message(FATAL_ERROR "the consumer built with CMake did not run: ${out}")
endif()

# The static archive through weir::weir_static: run without the shared
# library on the path, so it cannot have come from libweir.so.
unset(ENV{LD_LIBRARY_PATH})
execute_process(COMMAND ${WORK_DIR}/build/static_app RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "weir 0\\.[0-9.]+ static")
  message(FATAL_ERROR "the static consumer built with CMake did not run: ${out} ${err}")
endif()
set(ENV{LD_LIBRARY_PATH} ${prefix}/lib)

file(GLOB pcdirs ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "${pcdirs}")
execute_process(COMMAND pkg-config --cflags --libs weir OUTPUT_VARIABLE flags
                RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config does not know weir")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
execute_process(COMMAND ${CC} -std=c11 -Wall -Wextra -Werror
                ${SOURCE_DIR}/examples/consumer/consumer.c ${flags}
                -o ${WORK_DIR}/consumer_pc RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the consumer with pkg-config failed")
endif()
execute_process(COMMAND ${WORK_DIR}/consumer_pc RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "weir 0\\.")
  message(FATAL_ERROR "the consumer built with pkg-config did not run: ${out}")
endif()
# The static archive through pkg-config --static, as the README says:
#   cc app.c libweir.a $(pkg-config --static --libs weir)
# (-lweir itself is left out so the shared library cannot stand in.)
execute_process(COMMAND pkg-config --static --libs weir OUTPUT_VARIABLE slibs
                RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config --static --libs weir failed")
endif()
execute_process(COMMAND pkg-config --cflags weir OUTPUT_VARIABLE scflags
                OUTPUT_STRIP_TRAILING_WHITESPACE)
separate_arguments(slibs UNIX_COMMAND "${slibs}")
separate_arguments(scflags UNIX_COMMAND "${scflags}")
list(REMOVE_ITEM slibs -lweir)
file(GLOB archive ${prefix}/lib*/libweir.a ${prefix}/lib/*/libweir.a)
execute_process(COMMAND ${CC} -std=c11 -Wall -Wextra -Werror -DWEIR_STATIC ${scflags}
                ${SOURCE_DIR}/examples/consumer/static_app.c ${archive} ${slibs}
                -o ${WORK_DIR}/static_pc RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "linking libweir.a with pkg-config --static --libs failed: ${err}")
endif()
unset(ENV{LD_LIBRARY_PATH})
execute_process(COMMAND ${WORK_DIR}/static_pc RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "weir 0\\.[0-9.]+ static")
  message(FATAL_ERROR "the static consumer built with pkg-config did not run: ${out} ${err}")
endif()
message(STATUS "installed package works with find_package and pkg-config, shared and static: ${out}")
