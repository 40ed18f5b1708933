# One interface target carries the project's compile flags; every target of ours links it.
add_library(cellfleet_build_flags INTERFACE)
target_compile_options(cellfleet_build_flags INTERFACE -Wall -Wextra -Wpedantic)
if(CELLFLEET_WERROR)
  target_compile_options(cellfleet_build_flags INTERFACE -Werror)
endif()
if(CELLFLEET_SANITIZE)
  target_compile_options(cellfleet_build_flags INTERFACE -fsanitize=address,undefined
                                                         -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(cellfleet_build_flags INTERFACE -fsanitize=address,undefined)
  # GCC 12 under ASan reports a false -Wmaybe-uninitialized inside std::function (reached from
  # Catch2's headers); the sanitizer build's purpose is run-time checks, so that one is silenced.
  target_compile_options(cellfleet_build_flags INTERFACE -Wno-maybe-uninitialized)
endif()
# Asio without its deprecated interfaces.
target_compile_definitions(cellfleet_build_flags INTERFACE BOOST_ASIO_NO_DEPRECATED)

# Include roots that enforce the floors. Each floor's headers are reached as "<floor>/x.h" through
# a directory that holds only that floor, so a target sees a floor only by linking it: storage/
# cannot include core/, and no module can include another module.
function(cellfleet_floor_include target floor)
  set(root "${CMAKE_BINARY_DIR}/include/${floor}")
  if(NOT EXISTS "${root}/${floor}")
    file(MAKE_DIRECTORY "${root}")
    file(CREATE_LINK "${CMAKE_SOURCE_DIR}/src/${floor}" "${root}/${floor}" SYMBOLIC)
  endif()
  get_target_property(kind ${target} TYPE)
  if(kind STREQUAL "INTERFACE_LIBRARY")
    target_include_directories(${target} INTERFACE "${root}")
  else()
    target_include_directories(${target} PUBLIC "${root}")
  endif()
endfunction()

# Embeds FILE into TARGET as std::string_view cellfleet::embedded::SYMBOL (see embed.cmake).
function(cellfleet_embed target symbol file)
  set(output "${CMAKE_CURRENT_BINARY_DIR}/embedded_${symbol}.cpp")
  add_custom_command(
    OUTPUT "${output}"
    COMMAND ${CMAKE_COMMAND} -DINPUT=${file} -DOUTPUT=${output} -DSYMBOL=${symbol}
            -P "${CMAKE_SOURCE_DIR}/cmake/embed.cmake"
    DEPENDS "${file}" "${CMAKE_SOURCE_DIR}/cmake/embed.cmake"
    COMMENT "Embedding ${file}")
  target_sources(${target} PRIVATE "${output}")
endfunction()
