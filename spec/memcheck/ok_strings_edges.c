/* No bug: string functions whose definition stops inside the block while
** the buffer length passed goes past it (memchr finds its byte, strncmp
** and memcmp differ early, strnlen's terminator comes first), strings
** ending at the very end of a block (vector reads run past it), strstr
** finding the needle, wide strings. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
int main(void)
{
  unsigned long acc = 0;
  for (int n = 1; n < 100; n++) {
    char *p = malloc(n);
    memset(p, 'a', n);
    p[n - 1] = 'z';
    acc += (char *)memchr(p, 'z', n + 64) - p;           /* found at n - 1 */
    char *q = malloc(n);
    memset(q, 'a', n);
    q[n - 1] = 'y';
    acc += memcmp(p, q, n + 64) > 0;                      /* differs at n - 1 */
    acc += strncmp(p, q, n + 64) > 0;
    p[n - 1] = 0;
    acc += strnlen(p, n + 64) + strlen(p) + strspn(p, "a") + strcspn(p, "z");
    acc += (strchr(p, 'a') != NULL) + (strchrnul(p, 'q') - p) + (strrchr(p, 'a') != NULL);
    acc += strcasecmp(p, p) + strncasecmp(p, q, n - 1) + (strpbrk(p, "bz") == NULL);
    q[n - 1] = 0;
    acc += strcmp(p, q) + (strstr(p, "aa") != NULL);
    char *d = malloc(n);
    strcpy(d, p);
    acc += stpcpy(d, q) - d + strlen(strncpy(d, p, n));
    wchar_t *w = malloc(n * sizeof *w);
    for (int i = 0; i < n - 1; i++) w[i] = L'a' + i % 20;
    w[n - 1] = 0;
    wchar_t *w2 = malloc(n * sizeof *w);
    wcscpy(w2, w);
    acc += wcslen(w) + wcscmp(w, w2) + (wcschr(w, L'b') != NULL) + (wcsrchr(w, L'a') != NULL) + wcsnlen(w, n + 9);
    free(w2);
    free(w);
    free(d);
    free(q);
    free(p);
  }
  printf("%lu\n", acc);
  return 0;
}
