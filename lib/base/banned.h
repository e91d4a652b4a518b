/*
 * Functions that do not compile in owctl: unbounded copies, locale- and
 * error-blind conversions. Use sbuf, snprintf with a truncation check and
 * strtol/strtonum-style helpers instead.
 */
#ifndef OWCTL_BANNED_H
#define OWCTL_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_owctl

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)

#endif
