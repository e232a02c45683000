/* No bug: string functions on heap strings of every length 0..200 (glibc's
** vectorised versions read past the terminator within a page). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
int main(void)
{
  unsigned long acc = 0;
  for (int n = 0; n < 200; n++) {
    char *s = malloc(n + 1);
    memset(s, 'a' + n % 26, n);
    s[n] = 0;
    char *d = strdup(s);
    acc += strlen(d) + strnlen(s, n + 1) + (strchr(s, 'z') != NULL) + (strrchr(s, 'a') != NULL);
    acc += (memchr(s, 'q', n + 1) != NULL) + strcmp(s, d) + strncmp(s, d, 300) + (strstr(d, "ab") != NULL);
    acc += strspn(s, "abc") + strcspn(s, "xyz") + (rawmemchr(s, 0) == s + n);
    char *c = malloc(2 * n + 2);
    strcpy(c, s);
    strcat(c, d);
    acc += strlen(c) + (strcasecmp(c, c) == 0) + memcmp(c, c, 2 * n);
    char buf[64];
    snprintf(buf, sizeof buf, "%s-%d", d, n);
    acc += strlen(buf);
    free(c);
    free(d);
    free(s);
  }
  printf("%lu\n", acc);
  return 0;
}
