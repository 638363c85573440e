# Measures the largest stack use of warp-nostd-demo by painting: at `main`, 64 KiB below the
# stack pointer are filled with 0xAA; at `exit`, the lowest byte no longer 0xAA marks the
# deepest the stack went. Usage (see README.md):
#   gdb -q -batch -x warp-nostd-demo/stack.gdb --args PROGRAM ADDR PORT [NODE [READINGS]]
set pagination off
set confirm off
break *main
run
python
inf = gdb.selected_inferior()
sp = int(gdb.parse_and_eval("$sp"))
size = 64 * 1024
low = sp - size
inf.write_memory(low, b"\xaa" * size)
end
break exit
continue
python
data = bytes(inf.read_memory(low, size))
first = next((i for i, b in enumerate(data) if b != 0xaa), size)
print("stack-used %d" % (size - first))
end
kill
quit
