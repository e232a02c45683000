/* strace_spec: a library for dl_prog.c to dlopen. */
int dl_lib_answer(void) { return 42; }
