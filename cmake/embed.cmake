# Generates a C file holding the given files as byte arrays plus the st_resources table.
# A file is named by its path relative to BASE (the config directory), so an embedded config
# refers to the others exactly as config/demo.yaml does on disk ("universe.csv",
# "../strategies/gap.lua").
# Usage: cmake -DOUT=file.c -DBASE=dir -DFILES="a|b" -P embed.cmake
string(REPLACE "|" ";" FILES "${FILES}")
set(body "#include \"core/res.h\"\n\n")
set(table "const st_resource_t st_resources[] = {\n")
set(i 0)
foreach(f IN LISTS FILES)
  file(RELATIVE_PATH name "${BASE}" "${f}")
  file(READ "${f}" hex HEX)
  string(LENGTH "${hex}" hexlen)
  math(EXPR len "${hexlen} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "((0x..,){32})" "\\1\n" bytes "${bytes}")
  string(APPEND body "static const unsigned char res_${i}[] = {\n${bytes}0};\n")
  string(APPEND table "    {\"${name}\", res_${i}, ${len}},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND table "};\nconst size_t st_resources_count = ${i};\n")
file(WRITE "${OUT}.tmp" "${body}\n${table}")
file(RENAME "${OUT}.tmp" "${OUT}")
