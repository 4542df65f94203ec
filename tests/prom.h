/* A checker for the Prometheus text exposition format (version 0.0.4), strict enough for
 * tests: every line a comment (# HELP name text, # TYPE name counter|gauge|…) or a sample
 * `name{label="value",…} number`; names and label names by the format's grammar, label values
 * escaped, a TYPE before its samples and at most once, counters named *_total, a histogram's
 * series its _bucket (with le), _sum and _count. Also finds a sample's value. */
#ifndef ST_TEST_PROM_H
#define ST_TEST_PROM_H

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline bool prom_name_ok(const char *s, size_t n, bool colon)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || (colon && s[0] == ':'))) return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || (colon && s[i] == ':'))) return false;
    return true;
}

/* 0 when text is valid; otherwise the 1-based line that is not, with why. */
static inline int prom_check(const char *text, char *why, size_t whylen)
{
    char typed[256][96];
    char types[256][16];
    int ntyped = 0, line = 0;
    for (const char *p = text; *p;) {
        line++;
        const char *eol = strchr(p, '\n');
        if (!eol) {
            snprintf(why, whylen, "the last line has no newline");
            return line;
        }
        size_t len = (size_t)(eol - p);
        char l[1024];
        if (len >= sizeof(l)) {
            snprintf(why, whylen, "line too long");
            return line;
        }
        memcpy(l, p, len);
        l[len] = 0;
        p = eol + 1;
        if (len == 0) continue;
        if (l[0] == '#') {
            char kw[8], name[96], rest[512] = "";
            if (sscanf(l, "# %7s %95s %511[^\n]", kw, name, rest) < 2) continue; /* a plain comment */
            if (!strcmp(kw, "TYPE")) {
                static const char *const ok[] = {"counter", "gauge", "histogram", "summary", "untyped"};
                bool known = false;
                for (size_t i = 0; i < 5; i++) known = known || !strcmp(rest, ok[i]);
                if (!known || !prom_name_ok(name, strlen(name), true)) {
                    snprintf(why, whylen, "bad TYPE line: %.160s", l);
                    return line;
                }
                for (int i = 0; i < ntyped; i++)
                    if (!strcmp(typed[i], name)) {
                        snprintf(why, whylen, "second TYPE for %s", name);
                        return line;
                    }
                if (!strcmp(rest, "counter") && (strlen(name) < 6 || strcmp(name + strlen(name) - 6, "_total"))) {
                    snprintf(why, whylen, "counter %s does not end in _total", name);
                    return line;
                }
                if (ntyped < 256) {
                    snprintf(typed[ntyped], sizeof(typed[0]), "%s", name);
                    snprintf(types[ntyped++], sizeof(types[0]), "%.15s", rest);
                }
            } else if (!strcmp(kw, "HELP") && !prom_name_ok(name, strlen(name), true)) {
                snprintf(why, whylen, "bad HELP line: %.160s", l);
                return line;
            }
            continue;
        }
        /* a sample */
        size_t n = strcspn(l, "{ ");
        if (!prom_name_ok(l, n, true)) {
            snprintf(why, whylen, "bad metric name: %.160s", l);
            return line;
        }
        char name[96];
        snprintf(name, sizeof(name), "%.*s", (int)n, l);
        bool declared = false;
        for (int i = 0; i < ntyped; i++) declared = declared || !strcmp(typed[i], name);
        /* a histogram's series: NAME_bucket (with le), NAME_sum, NAME_count */
        static const char *const parts[] = {"_bucket", "_sum", "_count"};
        for (size_t k = 0; k < 3 && !declared; k++) {
            size_t nl = strlen(name), pl = strlen(parts[k]);
            if (nl <= pl || strcmp(name + nl - pl, parts[k])) continue;
            for (int i = 0; i < ntyped; i++)
                declared = declared || (!strncmp(typed[i], name, nl - pl) && !typed[i][nl - pl] &&
                                        !strcmp(types[i], "histogram"));
            if (declared && k == 0 && !strstr(l, "le=\"")) {
                snprintf(why, whylen, "a histogram bucket without le: %.160s", l);
                return line;
            }
        }
        if (!declared) {
            snprintf(why, whylen, "%s has no TYPE before it", name);
            return line;
        }
        const char *q = l + n;
        if (*q == '{') {
            q++;
            while (*q != '}') {
                size_t ln = strcspn(q, "=");
                if (!prom_name_ok(q, ln, false) || q[ln] != '=' || q[ln + 1] != '"') {
                    snprintf(why, whylen, "bad label: %.160s", l);
                    return line;
                }
                q += ln + 2;
                while (*q && *q != '"') {
                    if (*q == '\\') {
                        if (q[1] != '\\' && q[1] != '"' && q[1] != 'n') {
                            snprintf(why, whylen, "bad escape: %.160s", l);
                            return line;
                        }
                        q++;
                    }
                    q++;
                }
                if (*q != '"') {
                    snprintf(why, whylen, "unterminated label value: %.160s", l);
                    return line;
                }
                q++;
                if (*q == ',') q++;
                else if (*q != '}') {
                    snprintf(why, whylen, "bad label list: %.160s", l);
                    return line;
                }
            }
            q++;
        }
        if (*q != ' ') {
            snprintf(why, whylen, "no value: %.160s", l);
            return line;
        }
        char *end;
        strtod(q + 1, &end);
        if (end == q + 1 || (*end && *end != ' ')) {
            snprintf(why, whylen, "bad value: %.160s", l);
            return line;
        }
    }
    return 0;
}

/* The value of the sample whose name-and-labels part is exactly `series`
 * ("strata_tier_symbols{tier=\"1\"}"); NAN if there is none. */
static inline double prom_value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, series, n) && p[n] == ' ') return strtod(p + n + 1, NULL);
    return NAN;
}

#endif
