# Writes the bytes of IN as a C array in OUT (cli_dashboard_html).
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){24})" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "/* Generated from dashboard.html by embed.cmake. */\n"
     "const char cli_dashboard_html[] = {\n${bytes}0x00};\n"
     "const unsigned long cli_dashboard_html_len = ${len};\n")
