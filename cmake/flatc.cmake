# muninn_flatc(TARGET SCHEMA_DIR GEN_DIR): runs flatc on every schema in
# SCHEMA_DIR into GEN_DIR (included as "codec/<name>_generated.h" when GEN_DIR
# ends in /codec) and makes TARGET depend on the generated headers.
# Generated code is built, never committed.
find_program(FLATC flatc REQUIRED)
function(muninn_flatc target schema_dir gen_dir)
  file(GLOB fbs_files CONFIGURE_DEPENDS ${schema_dir}/*.fbs)
  set(headers)
  foreach(fbs ${fbs_files})
    get_filename_component(stem ${fbs} NAME_WE)
    add_custom_command(
      OUTPUT ${gen_dir}/${stem}_generated.h
      COMMAND ${CMAKE_COMMAND} -E make_directory ${gen_dir}
      COMMAND ${FLATC} --cpp --scoped-enums --gen-object-api -I ${schema_dir} -o ${gen_dir} ${fbs}
      DEPENDS ${fbs_files}
      COMMENT "flatc ${stem}.fbs")
    list(APPEND headers ${gen_dir}/${stem}_generated.h)
  endforeach()
  add_custom_target(${target} DEPENDS ${headers})
endfunction()
