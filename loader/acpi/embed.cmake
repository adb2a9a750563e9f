# cmake -DIN=file.aml -DOUT=file.cpp -DNAME=symbol -P embed.cmake: the bytes of IN as a C++ array.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n  " body "${body}")
file(WRITE "${OUT}.tmp" "// Generated from ${IN} by loader/acpi/embed.cmake.\n#include <cstddef>\nnamespace loader::aml {\nextern const unsigned char ${NAME}[] = {\n  ${body}\n};\nextern const std::size_t ${NAME}_size = ${bytes};\n}\n")
file(RENAME "${OUT}.tmp" "${OUT}")
