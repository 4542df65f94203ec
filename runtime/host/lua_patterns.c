/* The string library's pattern functions (find, match, gmatch, gsub) for strategies, on a
 * matcher of our own that charges every step to the callback's instruction budget. Lua's own
 * matcher runs in C where the instruction hook never looks, and a backtracking pattern such as
 * "a*a*a*a*b" over a few hundred bytes runs for minutes; here it ends as a budget fault like a
 * runaway loop. The semantics are the Lua 5.4 manual's (section 6.4.1): classes, sets, the
 * quantifiers * + - ?, anchors, captures and position captures, %1-%9, %b and %f.
 *
 * Also here: table.sort and table.move charged by their size before they run (their loops are
 * in C too), and collectgarbage limited to "count" (a full collection is strata's to run). */
#define _GNU_SOURCE /* memmem */
#include "lua_host.h"

#include <ctype.h>
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#define MAXCAP 32         /* LUA_MAXCAPTURES */
#define MAXDEPTH 200      /* nested matches before "pattern too complex" */
#define CHARGE_EVERY 1024 /* steps between two charges to the budget */
#define SORT_UNITS 4      /* instruction units per comparison of table.sort (bench_attacks) */
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define SPECIALS "^$*+?.([%-"

typedef struct {
    lua_State *L;
    const char *src, *src_end, *p_end;
    int depth, level;
    uint64_t steps;
    struct {
        const char *init;
        ptrdiff_t len;
    } cap[MAXCAP];
} matcher_t;

static void step(matcher_t *m)
{
    if (++m->steps >= CHARGE_EVERY) {
        uint64_t n = m->steps;
        m->steps = 0;
        st_lua_charge(m->L, n);
    }
}

static void restart(matcher_t *m)
{
    m->level = 0;
    m->depth = 0;
}

/* Whether c is in class cl (%a, %d, ...; an upper-case class is the complement; any other
 * character stands for itself). */
static int in_class(int c, int cl)
{
    int r;
    switch (tolower(cl)) {
    case 'a': r = isalpha(c); break;
    case 'c': r = iscntrl(c); break;
    case 'd': r = isdigit(c); break;
    case 'g': r = isgraph(c); break;
    case 'l': r = islower(c); break;
    case 'p': r = ispunct(c); break;
    case 's': r = isspace(c); break;
    case 'u': r = isupper(c); break;
    case 'w': r = isalnum(c); break;
    case 'x': r = isxdigit(c); break;
    case 'z': r = c == 0; break; /* deprecated, still Lua 5.4's */
    default: return cl == c;
    }
    return isupper(cl) ? !r : r != 0;
}

/* Whether c is in the set [ ... ] that starts at p ('[') and ends at close (']'). */
static int in_set(int c, const char *p, const char *close)
{
    int yes = 1;
    p++;
    if (*p == '^') {
        yes = 0;
        p++;
    }
    while (p < close) {
        if (*p == '%' && p + 1 < close) {
            if (in_class(c, (unsigned char)p[1])) return yes;
            p += 2;
        } else if (p + 2 < close && p[1] == '-') {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2]) return yes;
            p += 3;
        } else {
            if ((unsigned char)*p == c) return yes;
            p++;
        }
    }
    return !yes;
}

/* The end of the single-character class at p. */
static const char *class_end(matcher_t *m, const char *p)
{
    char c = *p++;
    if (c == '%') {
        if (p >= m->p_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c == '[') {
        if (p < m->p_end && *p == '^') p++;
        do { /* the first character of a set may be ']' */
            if (p >= m->p_end) luaL_error(m->L, "malformed pattern (missing ']')");
            c = *p++;
            if (c == '%' && p < m->p_end) p++;
        } while (p >= m->p_end || *p != ']');
        return p + 1;
    }
    return p;
}

static int single(const matcher_t *m, const char *s, const char *p, const char *ep)
{
    if (s >= m->src_end) return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case '%': return in_class(c, (unsigned char)p[1]);
    case '[': return in_set(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

static const char *match(matcher_t *m, const char *s, const char *p);

static const char *max_expand(matcher_t *m, const char *s, const char *p, const char *ep)
{
    ptrdiff_t i = 0;
    while (single(m, s + i, p, ep)) {
        step(m);
        i++;
    }
    for (; i >= 0; i--) { /* the longest first, then shorter */
        step(m);
        const char *r = match(m, s + i, ep + 1);
        if (r) return r;
    }
    return NULL;
}

static const char *min_expand(matcher_t *m, const char *s, const char *p, const char *ep)
{
    for (;;) {
        step(m);
        const char *r = match(m, s, ep + 1);
        if (r) return r;
        if (!single(m, s, p, ep)) return NULL;
        s++;
    }
}

static const char *start_capture(matcher_t *m, const char *s, const char *p, ptrdiff_t what)
{
    if (m->level >= MAXCAP) luaL_error(m->L, "too many captures");
    m->cap[m->level].init = s;
    m->cap[m->level].len = what;
    m->level++;
    const char *r = match(m, s, p);
    if (!r) m->level--;
    return r;
}

static const char *end_capture(matcher_t *m, const char *s, const char *p)
{
    int l = m->level - 1;
    while (l >= 0 && m->cap[l].len != CAP_UNFINISHED) l--;
    if (l < 0) luaL_error(m->L, "invalid pattern capture");
    m->cap[l].len = s - m->cap[l].init;
    const char *r = match(m, s, p);
    if (!r) m->cap[l].len = CAP_UNFINISHED;
    return r;
}

static const char *match_balance(matcher_t *m, const char *s, const char *p)
{
    if (p + 1 >= m->p_end) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->src_end || *s != *p) return NULL;
    char open = p[0], close = p[1];
    int depth = 1;
    while (++s < m->src_end) {
        step(m);
        if (*s == close) {
            if (--depth == 0) return s + 1;
        } else if (*s == open) {
            depth++;
        }
    }
    return NULL;
}

static int capture_index(matcher_t *m, int c)
{
    int l = c - '1';
    if (l < 0 || l >= m->level || m->cap[l].len == CAP_UNFINISHED)
        return luaL_error(m->L, "invalid capture index %%%d", l + 1);
    return l;
}

static const char *match_backref(matcher_t *m, const char *s, int c)
{
    int l = capture_index(m, c);
    size_t len = (size_t)m->cap[l].len; /* a position capture never matches */
    if ((size_t)(m->src_end - s) >= len && memcmp(m->cap[l].init, s, len) == 0) return s + len;
    return NULL;
}

/* The end of the match of pattern p at s, or NULL. */
static const char *match(matcher_t *m, const char *s, const char *p)
{
    if (++m->depth > MAXDEPTH) luaL_error(m->L, "pattern too complex");
    for (;;) {
        step(m);
        if (p == m->p_end) break;
        if (*p == '(') {
            s = p + 1 < m->p_end && p[1] == ')' ? start_capture(m, s, p + 2, CAP_POSITION)
                                                : start_capture(m, s, p + 1, CAP_UNFINISHED);
            break;
        }
        if (*p == ')') {
            s = end_capture(m, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == m->p_end) {
            if (s != m->src_end) s = NULL;
            break;
        }
        if (*p == '%' && p + 1 < m->p_end) {
            char k = p[1];
            if (k == 'b') {
                s = match_balance(m, s, p + 2);
                if (!s) break;
                p += 4;
                continue;
            }
            if (k == 'f') {
                p += 2;
                if (p >= m->p_end || *p != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
                const char *ep = class_end(m, p);
                int prev = s == m->src ? 0 : (unsigned char)s[-1];
                int cur = s < m->src_end ? (unsigned char)*s : 0;
                if (!in_set(prev, p, ep - 1) && in_set(cur, p, ep - 1)) {
                    p = ep;
                    continue;
                }
                s = NULL;
                break;
            }
            if (k >= '0' && k <= '9') {
                s = match_backref(m, s, (unsigned char)k);
                if (!s) break;
                p += 2;
                continue;
            }
        }
        const char *ep = class_end(m, p);
        char suffix = ep < m->p_end ? *ep : '\0';
        if (!single(m, s, p, ep)) {
            if (suffix == '*' || suffix == '?' || suffix == '-') { /* zero repetitions are fine */
                p = ep + 1;
                continue;
            }
            s = NULL;
            break;
        }
        if (suffix == '?') {
            const char *r = match(m, s + 1, ep + 1);
            if (r) {
                s = r;
                break;
            }
            p = ep + 1;
            continue;
        }
        if (suffix == '+' || suffix == '*') {
            s = max_expand(m, suffix == '+' ? s + 1 : s, p, ep);
            break;
        }
        if (suffix == '-') {
            s = min_expand(m, s, p, ep);
            break;
        }
        s++;
        p = ep;
    }
    m->depth--;
    return s;
}

/* --- captures to Lua values ----------------------------------------------------------------- */

static void push_capture(matcher_t *m, int i, const char *s, const char *e)
{
    if (i >= m->level) {
        if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(m->L, s, (size_t)(e - s)); /* the whole match */
        return;
    }
    ptrdiff_t len = m->cap[i].len;
    if (len == CAP_UNFINISHED) luaL_error(m->L, "unfinished capture");
    if (len == CAP_POSITION) lua_pushinteger(m->L, (lua_Integer)(m->cap[i].init - m->src) + 1);
    else lua_pushlstring(m->L, m->cap[i].init, (size_t)len);
}

/* The captures, or the whole match when there are none and s is given. */
static int push_captures(matcher_t *m, const char *s, const char *e)
{
    int n = m->level == 0 && s ? 1 : m->level;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++) push_capture(m, i, s, e);
    return n;
}

static void matcher_init(matcher_t *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp)
{
    memset(m, 0, sizeof(*m));
    m->L = L;
    m->src = s;
    m->src_end = s + ls;
    m->p_end = p + lp;
}

static void matcher_done(matcher_t *m)
{
    if (m->steps) st_lua_charge(m->L, m->steps);
    m->steps = 0;
}

/* A 1-based start (negative counts from the end) as an offset in [0, len + 1]. */
static size_t start_at(lua_Integer pos, size_t len)
{
    if (pos > 0) return (size_t)pos - 1;
    if (pos == 0) return 0;
    if (pos < -(lua_Integer)len) return 0;
    return len + (size_t)pos;
}

static int no_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (memchr(SPECIALS, p[i], sizeof(SPECIALS) - 1)) return 0;
    return 1;
}

static int find_or_match(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_at(luaL_optinteger(L, 3, 1), ls);
    if (init > ls) { /* past the end: nothing to find */
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || no_specials(p, lp))) {
        st_lua_charge(L, (ls - init) / 16 + 1); /* memmem is linear */
        const char *hit = lp == 0 ? s + init : memmem(s + init, ls - init, p, lp);
        if (hit) {
            lua_pushinteger(L, (lua_Integer)(hit - s) + 1);
            lua_pushinteger(L, (lua_Integer)(hit - s) + (lua_Integer)lp);
            return 2;
        }
        luaL_pushfail(L);
        return 1;
    }
    matcher_t m;
    int anchor = lp > 0 && *p == '^';
    if (anchor) p++, lp--;
    matcher_init(&m, L, s, ls, p, lp);
    const char *s1 = s + init;
    do {
        restart(&m);
        const char *e = match(&m, s1, p);
        if (e) {
            matcher_done(&m);
            if (!find) return push_captures(&m, s1, e);
            lua_pushinteger(L, (lua_Integer)(s1 - s) + 1);
            lua_pushinteger(L, (lua_Integer)(e - s));
            return push_captures(&m, NULL, NULL) + 2;
        }
    } while (s1++ < m.src_end && !anchor);
    matcher_done(&m);
    luaL_pushfail(L);
    return 1;
}

static int l_find(lua_State *L)
{
    return find_or_match(L, 1);
}

static int l_match(lua_State *L)
{
    return find_or_match(L, 0);
}

/* gmatch's iterator: upvalues the string, the pattern, and {next offset, end of the last
 * match or -1}. */
typedef struct {
    size_t pos;
    ptrdiff_t last;
} gm_state_t;

static int gmatch_next(lua_State *L)
{
    size_t ls, lp;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
    gm_state_t *g = lua_touserdata(L, lua_upvalueindex(3));
    matcher_t m;
    matcher_init(&m, L, s, ls, p, lp);
    for (const char *src = s + g->pos; src <= m.src_end; src++) {
        restart(&m);
        const char *e = match(&m, src, p);
        if (e && (g->last < 0 || e != s + g->last)) {
            g->pos = (size_t)(e - s);
            g->last = e - s;
            matcher_done(&m);
            return push_captures(&m, src, e);
        }
    }
    g->pos = ls + 1;
    matcher_done(&m);
    return 0;
}

static int l_gmatch(lua_State *L)
{
    size_t ls;
    luaL_checklstring(L, 1, &ls);
    luaL_checkstring(L, 2);
    size_t init = start_at(luaL_optinteger(L, 3, 1), ls);
    lua_settop(L, 2);
    gm_state_t *g = lua_newuserdatauv(L, sizeof(*g), 0);
    g->pos = init > ls + 1 ? ls + 1 : init;
    g->last = -1;
    lua_pushcclosure(L, gmatch_next, 3);
    return 1;
}

/* Appends the replacement of the match s..e to b. */
static void add_replacement(matcher_t *m, luaL_Buffer *b, const char *s, const char *e, int tr)
{
    lua_State *L = m->L;
    if (tr == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(m, s, e);
        lua_call(L, n, 1);
    } else if (tr == LUA_TTABLE) {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else { /* a string (or a number as one): %0-%9 and %% */
        size_t l;
        const char *r = lua_tolstring(L, 3, &l), *pct;
        while ((pct = memchr(r, '%', l)) != NULL) {
            luaL_addlstring(b, r, (size_t)(pct - r));
            pct++;
            if (*pct == '%') {
                luaL_addchar(b, '%');
            } else if (*pct >= '0' && *pct <= '9') {
                if (*pct == '0') {
                    luaL_addlstring(b, s, (size_t)(e - s));
                } else {
                    push_capture(m, *pct - '1', s, e);
                    luaL_tolstring(L, -1, NULL);
                    lua_remove(L, -2);
                    luaL_addvalue(b);
                }
            } else {
                luaL_error(L, "invalid use of '%%' in replacement string");
            }
            l -= (size_t)(pct + 1 - r);
            r = pct + 1;
        }
        luaL_addlstring(b, r, l);
        return;
    }
    if (!lua_toboolean(L, -1)) { /* nil or false: the match stays as it was */
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
    } else if (!lua_isstring(L, -1)) {
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    } else {
        luaL_addvalue(b);
    }
}

static int l_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *src = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int tr = lua_type(L, 3);
    lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                     "string/function/table");
    int anchor = lp > 0 && *p == '^';
    if (anchor) p++, lp--;
    matcher_t m;
    matcher_init(&m, L, src, ls, p, lp);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    const char *last = NULL;
    lua_Integer n = 0;
    while (n < max) {
        restart(&m);
        const char *e = match(&m, src, p);
        if (e && e != last) {
            n++;
            add_replacement(&m, &b, src, e, tr);
            src = last = e;
        } else if (src < m.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchor) break;
    }
    matcher_done(&m);
    luaL_addlstring(&b, src, (size_t)(m.src_end - src));
    luaL_pushresult(&b);
    lua_pushinteger(L, n);
    return 2;
}

/* --- table.sort, table.move, collectgarbage ------------------------------------------------- */

static int l_sort(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 1);
    if (n > 1) {
        uint64_t lg = 1;
        while ((1ull << lg) < (uint64_t)n && lg < 63) lg++;
        st_lua_charge(L, SORT_UNITS * (uint64_t)n * lg); /* comparisons, each dearer than an instruction */
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 0);
    return 0;
}

static int l_move(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
    if (e >= f) st_lua_charge(L, (uint64_t)(e - f) + 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int l_collectgarbage(lua_State *L)
{
    const char *opt = luaL_optstring(L, 1, "collect");
    if (strcmp(opt, "count") != 0)
        return luaL_error(L, "collectgarbage(\"%s\"): only \"count\" is allowed in a strategy (strata runs "
                             "its collector)", opt);
    int kb = lua_gc(L, LUA_GCCOUNT), b = lua_gc(L, LUA_GCCOUNTB);
    lua_pushnumber(L, (lua_Number)kb + (lua_Number)b / 1024);
    return 1;
}

/* Replaces field name of the table on top with f, the old function as its upvalue. */
static void wrap(lua_State *L, const char *name, lua_CFunction f)
{
    lua_getfield(L, -1, name);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, -2, name);
}

void st_lua_patterns_install(lua_State *L)
{
    static const luaL_Reg str[] = {{"find", l_find}, {"match", l_match}, {"gmatch", l_gmatch}, {"gsub", l_gsub}};
    lua_getglobal(L, "string"); /* also the strings' metatable's __index: ("x"):find() uses it */
    for (size_t i = 0; i < sizeof(str) / sizeof(str[0]); i++) {
        lua_pushcfunction(L, str[i].func);
        lua_setfield(L, -2, str[i].name);
    }
    lua_pop(L, 1);
    lua_getglobal(L, "table");
    wrap(L, "sort", l_sort);
    wrap(L, "move", l_move);
    lua_pop(L, 1);
    lua_pushcfunction(L, l_collectgarbage);
    lua_setglobal(L, "collectgarbage");
}
