/* The budgeted pattern functions (runtime/host/lua_patterns.c) against Lua's own: the same
 * script runs find, match, gmatch and gsub (string, function, table and number replacements,
 * start positions, limits) over the same subjects and patterns, malformed ones included, in a
 * stock Lua state and in one with strata's functions installed; every result and every error
 * message must be the same. */
#include "../test.h"

#include "host/lua_host.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

static const char *const SCRIPT =
    "local cases = {\n"
    "  {'hello world', 'o'}, {'hello world', 'l+'}, {'hello world', '(h)(e)'}, {'hello world', '()ll()'},\n"
    "  {'  trim  ', '^%s*(.-)%s*$'}, {'key=val, k2=v2', '(%w+)=(%w+)'}, {'THE (quick) fox', '%((%a+)%)'},\n"
    "  {'abc', '[a-'}, {'abc', '%'}, {'abc', '(()'}, {'abc', '%1'}, {'abc', 'a)'}, {'f(a(b)c)d', '%b()'},\n"
    "  {'THE quick', '%f[%a]%a+'}, {'aaa', 'a-'}, {'aaa', 'a-b'}, {'aaa', '^a'}, {'aaa', 'a$'}, {'x$y', '$y'},\n"
    "  {'a]b', '[]]'}, {'a^b', '[%^]'}, {'a-b', '[a%-]+'}, {'10.5e3', '%d+%.?%d*'}, {'', ''}, {'abc', ''},\n"
    "  {'abc', '.-'}, {'ab12cd', '%D+'}, {'hello', '(l)%1'}, {'a.b.c', '%.'}, {'x y', '[^%s]'}, {'AbC', '[A-Z]'},\n"
    "  {'aaa', 'a?a?a?'}, {'hello world from lua', '%s*(%S+)'}, {'a+b', '+'}, {'[x]', '[[]'}, {'abc', '[a-c]+$'},\n"
    "  {'caaat', 'ca-t'}, {'hello', 'h.-o'}, {'one two', '(%a+) (%a+)'}, {'x=1', '(%w)(=)(%d)'},\n"
    "  {'abc', '((a)(b))'}, {'abc', '%bxy'}, {'abc', '%b'}, {'abc', '%f'}, {'abc', '%fa'}, {'ab', '[%a-z]'},\n"
    "  {'a-z', '[%a-z]+'}, {'hello', '^(h)'}, {'hello', 'l*'}, {'hello', 'x*'}, {'tab\\tnl\\n', '%c'},\n"
    "  {'Mixed Case 42!', '%u%l+'}, {'Mixed Case 42!', '%p'}, {'0x1F', '%x+'}, {'a.b', 'a.b'}, {'aXb', '%Ax'},\n"
    "  {'((a))', '%b()'}, {'abcabc', '(abc)%1'}, {'abab', '(ab)-'}, {'word1 word2', '%f[%w]%w+'},\n"
    "  {'end', 'd$'}, {'ee', 'e?e?e'}, {'a\\0b', 'a%zb'}, {'a\\0b', 'a.b'}, {'a\\0b', '[\\0]'}, {'x', '[x'},\n"
    "  {'aaab', 'a-b'}, {'k = v', '^(%w+)%s*=%s*(%w+)$'}, {'12 34 56', '(%d+)'}, {'ab', '()a()b()'},\n"
    "}\n"
    "local out = {}\n"
    "local function ser(...)\n"
    "  local t = table.pack(...) local r = {}\n"
    "  for i = 1, t.n do r[#r + 1] = type(t[i]) .. ':' .. tostring(t[i]) end\n"
    "  return table.concat(r, ',')\n"
    "end\n"
    "local function both(f, ...) out[#out + 1] = ser(pcall(f, ...)) end\n"
    "for _, c in ipairs(cases) do\n"
    "  local s, p = c[1], c[2]\n"
    "  both(string.find, s, p) both(string.find, s, p, 3) both(string.find, s, p, -2) both(string.find, s, p, 99)\n"
    "  both(string.find, s, p, 1, true) both(string.match, s, p) both(string.match, s, p, 2)\n"
    "  local g = {}\n"
    "  local ok, e = pcall(function() for a, b in string.gmatch(s, p) do g[#g + 1] = tostring(a) .. '|' .. tostring(b) end end)\n"
    "  out[#out + 1] = tostring(ok) .. ':' .. table.concat(g, ';') .. ':' .. tostring(e)\n"
    "  g = {}\n"
    "  ok, e = pcall(function() for a in string.gmatch(s, p, 2) do g[#g + 1] = tostring(a) end end)\n"
    "  out[#out + 1] = tostring(ok) .. ':' .. table.concat(g, ';') .. ':' .. tostring(e)\n"
    "  both(string.gsub, s, p, '<%0>') both(string.gsub, s, p, '%1', 2) both(string.gsub, s, p, '%%%2')\n"
    "  both(string.gsub, s, p, function(a) return a and tostring(a):upper() end)\n"
    "  both(string.gsub, s, p, {a = 'A', hello = 'HI', o = false}) both(string.gsub, s, p, 7)\n"
    "  both(string.gsub, s, p, '%x') both(string.gsub, s, p, function() return {} end)\n"
    "  both(function() return (s):find(p) end)\n"
    "end\n"
    "return table.concat(out, '\\n')\n";

static char *run(bool ours)
{
    lua_State *L = luaL_newstate();
    *(void **)lua_getextraspace(L) = NULL; /* no strategy: nothing to charge */
    luaL_openlibs(L);
    if (ours) st_lua_patterns_install(L);
    assert_int_equal(luaL_loadstring(L, SCRIPT), LUA_OK);
    if (lua_pcall(L, 0, 1, 0) != LUA_OK) fail_msg("%s", lua_tostring(L, -1));
    char *r = strdup(lua_tostring(L, -1));
    lua_close(L);
    return r;
}

static void test_same_as_lua(void **state)
{
    char *theirs = run(false), *ours = run(true);
    /* line by line, so a difference names its case */
    char *a = theirs, *b = ours;
    int line = 1, lines = 0;
    while (*a || *b) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (la != lb || memcmp(a, b, la) != 0) printf("# line %d: lua %.*s\n#   strata %.*s\n", line, (int)la, a, (int)lb, b);
        assert_true(la == lb && memcmp(a, b, la) == 0);
        a += la + (a[la] == '\n');
        b += lb + (b[lb] == '\n');
        line++, lines++;
    }
    printf("# %d results equal\n", lines);
    assert_true(lines > 1000);
    free(theirs);
    free(ours);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_lua),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
