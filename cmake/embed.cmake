# Turn a file into a list of C byte literals (for #include inside an array
# initializer), NUL-terminated: cmake -DIN=file -DOUT=header -P embed.cmake
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "${bytes}0x00\n")
