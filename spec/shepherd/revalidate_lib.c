/* The library spec/shepherd/revalidate.c loads and unloads. */
int lib_fn(void) { return 7; }
