/* wrap_spec: a library wrap_prog dlopens. */
long wl_twice(long x) { return 2 * x; }
long wl_thrice(long x) { return 3 * x; }
