#include "lua_host.h"
#include "conf/config.h"
#include "core/log.h"
#include "core/res.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOOK_EVERY 1000 /* instructions between two looks at the budget */
#define LOADED "strata.loaded"
#define PINNED 0.9 /* live share of the memory cap, after a full collection, that faults */
#define GC_STEP_KB 64
#define ALLOC_BYTES_PER_UNIT 2 /* allocation charged to the budget: bytes per instruction unit */
#define GC_UNITS_PER_KB 70 /* instruction units a kilobyte's collector step is charged */

struct st_lua {
    lua_State *L;
    char *name, *dir;
    size_t mem, cap;
    bool over;    /* past the cap in a callback: the hook collects, then faults if still pinned */
    bool in_call; /* a guarded call runs */
    bool hosting; /* the host fills tables outside the protected call: its allocations are granted */
    uint64_t budget, used;
    bool tripped; /* the callback is over: every instruction of every thread raises trip_msg */
    uint8_t trip_cause; /* st_fault_cause_t of trip_msg */
    char trip_msg[200];
    int quarantine_after, window;
    uint64_t *fault_at; /* ring of the call numbers of the last quarantine_after faults */
    const strata_host_t *host; /* the host's functions (the plugins' table), called with ctx */
    strata_ctx_t *ctx;
    void (*quarantined_cb)(strata_ctx_t *ctx, const char *why);
    int ref_module, ref_trade, ref_book, ref_strata, ref_names;
    st_tick_t tick;         /* the latest tick handed to a callback, which its view reads */
    uint64_t tick_gen;      /* … counted, so the book view refills an array once a tick */
    uint64_t arr_gen[4];    /* the tick each of the book view's arrays holds */
    uint64_t calls, faults, in_row;
    uint64_t faults_by[ST_FAULT_CAUSES];
    bool quarantined;
    char last_error[2048];
    st_repeats_t faults_said; /* faults by "callback: first line": a repeat is counted, not logged */
    char mem_where[300]; /* where the allocation refused past the cap was asked for */
    char **sources; /* the files it loaded: the strategy, then what it required */
    size_t nsources;
    char **warnings; /* strata.<name> uses of functions that do not exist */
    size_t nwarnings;
};

/* One callback call: which callback and what to hand it. Its arguments are made inside the
 * protected call, so nothing a strategy did to its tables or memory can raise outside it. */
typedef struct {
    const char *cb;
    int cb_name;          /* cb's index in the names table, or 0 */
    const char *code;     /* the symbol's code, or NULL */
    const st_tick_t *tick; /* a tick for on_trade / on_orderbook / on_snapshot */
    bool has_flag, flag;  /* a boolean after the code (on_emergency's granted) */
    const char *arg;      /* on_timer / on_timeslot, on_emergency's why */
    bool params;          /* init(params) */
    const char *const *keys, *const *values;
    size_t nparams;
    bool missing; /* the strategy has no such callback */
} call_t;

static st_lua_t *self(lua_State *L)
{
    return *(st_lua_t **)lua_getextraspace(L);
}

/* --- the allocator: the memory cap ---------------------------------------------------------- */

static void l_hook(lua_State *L, lua_Debug *ar);

/* Where the running Lua code is (reads the call stack only: safe inside the allocator). */
static void where(lua_State *L, char *buf, size_t len)
{
    lua_Debug ar;
    for (int lv = 0; lua_getstack(L, lv, &ar); lv++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            snprintf(buf, len, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
    }
}

/* The cap is soft inside a callback: the first allocation past it is granted and arms the
 * hook, which collects at the next instruction and faults (with the strategy's traceback) if
 * the state is still pinned near its cap. Past 1.5 x the cap, or outside a callback, an
 * allocation fails (Lua raises "not enough memory"), with its location noted. */
static void *l_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    st_lua_t *s = ud;
    if (!ptr) osize = 0; /* then osize names the kind of object */
    if (nsize == 0) {
        free(ptr);
        s->mem -= osize;
        return NULL;
    }
    if (nsize > osize && s->mem + (nsize - osize) > s->cap && !s->hosting) {
        if (!s->in_call || s->mem + (nsize - osize) > s->cap + s->cap / 2) {
            if (s->in_call && !s->mem_where[0]) where(s->L, s->mem_where, sizeof(s->mem_where));
            return NULL;
        }
        if (!s->over) {
            s->over = true;
            lua_sethook(s->L, l_hook, LUA_MASKCOUNT, 1);
        }
    }
    void *p = realloc(ptr, nsize);
    if (p) {
        s->mem = s->mem - osize + nsize;
        if (nsize > osize) s->used += (nsize - osize) / ALLOC_BYTES_PER_UNIT; /* it and its collection */
    }
    return p;
}

/* --- the guarded path ----------------------------------------------------------------------- */

/* Ends the callback: from now on every instruction of this thread and of the main thread
 * raises (other threads on their next hook), so no pcall, coroutine or message handler in the
 * script can swallow it. */
static int trip(st_lua_t *s, lua_State *L)
{
    s->tripped = true;
    lua_sethook(L, l_hook, LUA_MASKCOUNT, 1);
    if (L != s->L) lua_sethook(s->L, l_hook, LUA_MASKCOUNT, 1);
    char at[300] = "";
    where(L, at, sizeof(at)); /* the strategy's line, also from a library call or a hook */
    lua_pushfstring(L, "%s%s", at, s->trip_msg);
    return lua_error(L);
}

/* Runs the incremental collector until `cycles` cycles complete, charging its work in
 * instruction units (GC_UNITS_PER_KB, measured by bench_attacks to cost about what as many
 * instructions do); 0, or -1 when `limit` units ran out first. Deterministic: work, not time. */
static int collect(st_lua_t *s, uint64_t limit, int cycles)
{
    uint64_t spent = 0;
    while (cycles > 0) {
        if (spent >= limit) return -1;
        if (lua_gc(s->L, LUA_GCSTEP, GC_STEP_KB)) cycles--;
        spent += GC_STEP_KB * GC_UNITS_PER_KB;
        s->used += GC_STEP_KB * GC_UNITS_PER_KB;
    }
    return 0;
}

/* Charges work done in C (pattern matching, sorting) against the callback's budget. */
void st_lua_charge(lua_State *L, uint64_t units)
{
    st_lua_t *s = self(L);
    if (!s || !s->in_call) return; /* not a strategy's state (tests), or not in a callback */
    s->used += units;
    if (s->tripped || s->used > s->budget) {
        if (!s->tripped) {
            s->trip_cause = ST_FAULT_BUDGET;
            snprintf(s->trip_msg, sizeof(s->trip_msg), "instruction budget of %llu exceeded (in a library call)",
                     (unsigned long long)s->budget);
        }
        trip(s, L);
    }
}

static void l_hook(lua_State *L, lua_Debug *ar)
{
    st_lua_t *s = self(L);
    if (s->tripped) trip(s, L);
    if (lua_gethookcount(L) == HOOK_EVERY) s->used += HOOK_EVERY;
    else lua_sethook(L, l_hook, LUA_MASKCOUNT, HOOK_EVERY); /* back from a memory check */
    if (s->over) { /* past the cap: its garbage is collected on its own budget */
        if (collect(s, s->budget > s->used ? s->budget - s->used : 0, 1) != 0) {
            s->trip_cause = ST_FAULT_MEMORY;
            snprintf(s->trip_msg, sizeof(s->trip_msg),
                     "instruction budget of %llu exceeded while collecting its garbage past the memory cap of "
                     "%zu MiB (memory_mb)", (unsigned long long)s->budget, s->cap >> 20);
            trip(s, L);
        }
        s->over = false;
        if ((double)s->mem > PINNED * (double)s->cap) {
            s->trip_cause = ST_FAULT_MEMORY;
            snprintf(s->trip_msg, sizeof(s->trip_msg),
                     "memory cap of %zu MiB (memory_mb) reached: %.1f MiB still in use after collecting its garbage",
                     s->cap >> 20, (double)s->mem / (1 << 20));
            trip(s, L);
        }
    }
    if (s->used > s->budget) {
        s->trip_cause = ST_FAULT_BUDGET;
        snprintf(s->trip_msg, sizeof(s->trip_msg), "instruction budget of %llu exceeded",
                 (unsigned long long)s->budget);
        trip(s, L);
    }
}

static int l_panic(lua_State *L)
{
    st_lua_t *s = self(L);
    st_log_error(HOST, "%s: Lua panic (an error outside any protected call): %s; aborting", s ? s->name : "?",
                 lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(no message)");
    return 0; /* Lua aborts */
}

static int l_msgh(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Every string the host writes per tick, interned once in a table (ref_names) and pushed by
 * index: lua_pushstring would look each one up by its bytes, every time. */
enum {
    N_PRICE = 1, N_VOLUME, N_OPEN, N_HIGH, N_LOW, N_PREV_CLOSE, N_CUM_VOLUME, N_CUM_VALUE, N_BEST_BID, N_BEST_ASK,
    N_TIME, N_RECV_TIME, N_SIDE, N_HALTED, N_BUY, N_SELL, N_NONE, N_TOTAL_ASK_QTY, N_TOTAL_BID_QTY, N_ASK, N_BID,
    N_ASK_QTY, N_BID_QTY, N_ON_TRADE, N_ON_ORDERBOOK, N_ON_SNAPSHOT, N_COUNT
};
static const char *const tick_names[N_COUNT] = {
    NULL, "price", "volume", "open", "high", "low", "prev_close", "cum_volume", "cum_value", "best_bid", "best_ask",
    "time", "recv_time", "side", "halted", "buy", "sell", "", "total_ask_qty", "total_bid_qty", "ask", "bid",
    "ask_qty", "bid_qty", "on_trade", "on_orderbook", "on_snapshot"};

static void fill_book(lua_State *L, int nm, const st_tick_t *t);

/* The main thread's stack holds, below every call the host makes, the message handler, the
 * symbols' code strings by id (so a tick's code is one array read, not a string interned
 * again), the names table (a callback's name by its id: lua_pushstring of a C string costs a
 * strcmp in Lua's string cache, every tick) and, once loaded, the module: a callback is called
 * with no lookup in the registry. */
enum { SLOT_MSGH = 1, SLOT_CODES, SLOT_NAMES, SLOT_MODULE };

/* Pushes a callback's arguments: the symbol, the tick's view, the string argument. Returns how
 * many. slots: called on the main thread's stack by the host (the code strings' slot is
 * there); not from within a protected call. */
static int push_args(lua_State *L, st_lua_t *s, const call_t *c, bool slots)
{
    int n = 0;
    if (c->code && c->tick && slots) {
        lua_Integer k = (lua_Integer)c->tick->sym + 1;
        if (lua_rawgeti(L, SLOT_CODES, k) != LUA_TSTRING) {
            lua_pop(L, 1);
            lua_pushstring(L, c->code);
            lua_pushvalue(L, -1);
            lua_rawseti(L, SLOT_CODES, k);
        }
        n++;
    } else if (c->code) {
        lua_pushstring(L, c->code), n++;
    }
    if (c->tick) { /* the view reads s->tick as the strategy asks (no table filled) */
        bool book = c->tick->kind == ST_TICK_ORDERBOOK;
        memcpy(&s->tick, c->tick, st_tick_bytes(c->tick->kind));
        s->tick_gen++;
        lua_rawgeti(L, LUA_REGISTRYINDEX, book ? s->ref_book : s->ref_trade);
        n++;
    }
    if (c->has_flag) lua_pushboolean(L, c->flag), n++;
    if (c->arg) lua_pushstring(L, c->arg), n++;
    return n;
}

/* The slow path, inside the protected call: looks the callback up where a metamethod of the
 * module table may run (budgeted here), makes its arguments, calls it. */
static int l_dispatch(lua_State *L)
{
    call_t *c = lua_touserdata(L, 1);
    st_lua_t *s = self(L);
    int npre = lua_gettop(L) - 1; /* values handed in (on_reload's old state) */
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref_module);
    lua_getfield(L, -1, c->cb);
    if (!lua_isfunction(L, -1)) {
        c->missing = true;
        return 0;
    }
    int fn = lua_gettop(L);
    push_args(L, s, c, false);
    if (c->params) {
        lua_createtable(L, 0, (int)c->nparams);
        for (size_t i = 0; i < c->nparams; i++) {
            lua_pushstring(L, c->values[i]);
            lua_setfield(L, -2, c->keys[i]);
        }
    }
    for (int i = 0; i < npre; i++) lua_pushvalue(L, 2 + i);
    lua_call(L, lua_gettop(L) - fn, 0);
    return 0;
}

/* Logs a fault once; the same fault again (same callback, same first line) is counted and
 * logged as "repeated N times" at 10, 100, 1000, ... and when another fault comes. */
static void flush_repeats(st_lua_t *s)
{
    uint64_t n = st_repeats_flush(&s->faults_said);
    if (n) st_log_warn(HOST, "%s: %s (repeated %llu time%s)", s->name, s->faults_said.last, (unsigned long long)n,
                       n == 1 ? "" : "s");
}

static void log_fault(st_lua_t *s, const call_t *c)
{
    char what[120], first[400];
    if (!c) snprintf(what, sizeof(what), "loading");
    else if (c->code) snprintf(what, sizeof(what), "%s(%s)", c->cb, c->code);
    else if (c->arg) snprintf(what, sizeof(what), "%s(%s)", c->cb, c->arg);
    else snprintf(what, sizeof(what), "%s", c->cb);
    int n = (int)ST_MIN2(strcspn(s->last_error, "\n"), (size_t)300);
    snprintf(first, sizeof(first), "%s: %.*s", c ? c->cb : "loading", n, s->last_error);
    uint64_t count;
    if (!st_repeats_note(&s->faults_said, first, &count)) {
        if (count)
            st_log_warn(HOST, "%s: %s: %.*s (repeated %llu times)", s->name, what, n, s->last_error,
                        (unsigned long long)count);
        return;
    }
    if (count)
        st_log_warn(HOST, "%s: %s (repeated %llu time%s)", s->name, s->faults_said.prev, (unsigned long long)count,
                    count == 1 ? "" : "s");
    st_log_warn(HOST, "%s: %s: %s", s->name, what, s->last_error);
}

/* K faults within the last `window` calls (K in a row among them) quarantine the strategy. */
static void count_fault(st_lua_t *s)
{
    size_t k = (size_t)s->quarantine_after;
    s->fault_at[s->faults % k] = s->calls;
    s->faults++;
    s->in_row++;
    bool over = s->faults >= k && s->calls - s->fault_at[s->faults % k] < (uint64_t)s->window;
    if (!over || s->quarantined) return;
    s->quarantined = true;
    flush_repeats(s);
    char why[160];
    if (s->in_row >= k) snprintf(why, sizeof(why), "%llu faults in a row", (unsigned long long)s->in_row);
    else snprintf(why, sizeof(why), "%zu faults in %llu calls", k, (unsigned long long)(s->calls - s->fault_at[s->faults % k] + 1));
    st_log_error(HOST, "%s: quarantined after %s; its subscriptions are released", s->name, why);
    if (s->quarantined_cb) s->quarantined_cb(s->ctx, why);
}

/* Calls the function below its nargs arguments, protected (c: the callback's call, or NULL for
 * a chunk), with the message handler at stack index msgh (SLOT_MSGH), or (0) one put below the
 * function for this call; leaves nres results on success. */
static int guarded_with(st_lua_t *s, int nargs, int nres, call_t *c, int msgh)
{
    lua_State *L = s->L;
    int base = lua_gettop(L) - nargs; /* the function; after the call, what is left starts here */
    bool own = msgh == 0;
    if (own) {
        lua_pushcfunction(L, l_msgh);
        lua_insert(L, base);
        msgh = base++;
    }
    s->used = 0;
    s->tripped = s->over = false;
    s->mem_where[0] = '\0';
    s->in_call = true;
    lua_sethook(L, l_hook, LUA_MASKCOUNT, HOOK_EVERY);
    int rc = lua_pcall(L, nargs, nres, msgh);
    lua_sethook(L, NULL, 0, 0);
    s->in_call = false;
    int below = own ? base - 2 : base - 1; /* the top before the call */
    if (c && c->missing) {
        lua_settop(L, below);
        return 1;
    }
    s->calls++;
    if (rc == LUA_OK) {
        if (own) lua_remove(L, msgh);
        s->in_row = 0;
        return 0;
    }
    if (rc == LUA_ERRMEM) /* no message handler runs for it: say where and what the cap is */
        snprintf(s->last_error, sizeof(s->last_error),
                 "%snot enough memory: an allocation would pass the memory cap of %zu MiB (memory_mb)",
                 s->mem_where, s->cap >> 20);
    else
        snprintf(s->last_error, sizeof(s->last_error), "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "error");
    lua_settop(L, below);
    s->faults_by[rc == LUA_ERRMEM ? ST_FAULT_MEMORY : s->tripped ? s->trip_cause : ST_FAULT_ERROR]++;
    if ((double)s->mem > PINNED * (double)s->cap) /* a memory bomb leaves garbage behind: on */
        collect(s, s->budget / 2, 2);               /* at most half a budget's worth more */
    log_fault(s, c);
    count_fault(s);
    return ST_EFAULT;
}

static int guarded(st_lua_t *s, int nargs, int nres, call_t *c)
{
    return guarded_with(s, nargs, nres, c, 0);
}

/* Calls the callback c describes with the npre values on the stack after its arguments. */
static int call(st_lua_t *s, call_t *c, int npre)
{
    lua_State *L = s->L;
    if (s->quarantined) {
        lua_pop(L, npre);
        return 1;
    }
    if (!c->params) {
        /* The fast path, for a callback that is a plain field of the module: raw lookups and
         * raw sets run no strategy code, and what they allocate is granted (s->hosting), so
         * nothing here can raise outside the protected call. */
        s->hosting = true;
        if (npre == 0) { /* a tick, a timer: built in call order, nothing moved */
            if (c->cb_name) lua_rawgeti(L, SLOT_NAMES, c->cb_name);
            else lua_pushstring(L, c->cb);
            if (lua_rawget(L, SLOT_MODULE) == LUA_TFUNCTION) {
                int n = push_args(L, s, c, true);
                s->hosting = false;
                return guarded_with(s, n, 0, c, SLOT_MSGH);
            }
            lua_pop(L, 1); /* the slow path below decides (a metatable, or no callback) */
        }
        int base = lua_gettop(L) - npre + 1; /* [pre...] */
        lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref_names);
        lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref_module);
        if (c->cb_name) lua_rawgeti(L, -2, c->cb_name);
        else lua_pushstring(L, c->cb);
        int t = lua_rawget(L, -2); /* [pre...][names][module][cb] */
        if (t == LUA_TFUNCTION) {
            lua_remove(L, -2);
            lua_insert(L, base); /* [cb][pre...][names] */
            lua_pop(L, 1);
            int n = push_args(L, s, c, true);
            s->hosting = false;
            return guarded(s, npre + n, 0, c);
        }
        bool meta = t == LUA_TNIL && lua_getmetatable(L, -2);
        lua_pop(L, meta ? 4 : 3);
        s->hosting = false;
        if (!meta) { /* no such callback */
            lua_pop(L, npre);
            return 1;
        }
    }
    lua_pushcfunction(L, l_dispatch);
    lua_pushlightuserdata(L, c);
    if (npre) lua_rotate(L, -(npre + 2), 2);
    return guarded(s, npre + 1, 0, c);
}

/* --- the strata module ---------------------------------------------------------------------- */

static void push_book_table(lua_State *L);

static int result(lua_State *L, int rc, const char *why)
{
    if (rc >= 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushnil(L);
    lua_pushstring(L, why && *why ? why : st_strerror(rc));
    return 2;
}

/* The host function fn of the strategy's state s, with its context: -ENOTSUP where the host
 * has none (a test's partial table). */
#define CALL_HOST(s, fn, ...) ((s)->host && (s)->host->fn ? (s)->host->fn((s)->ctx, __VA_ARGS__) : -ENOTSUP)

static int prio_arg(lua_State *L, int i)
{
    return luaL_checkoption(L, i, "medium", st_priority_names);
}

static int l_watch(lua_State *L)
{
    return result(L, CALL_HOST(self(L), watch, luaL_checkstring(L, 1), prio_arg(L, 2)), NULL);
}

static int l_unwatch(lua_State *L)
{
    return result(L, CALL_HOST(self(L), unwatch, luaL_checkstring(L, 1)), NULL);
}

static int l_upgrade_priority(lua_State *L)
{
    return result(L, CALL_HOST(self(L), upgrade_priority, luaL_checkstring(L, 1), prio_arg(L, 2)), NULL);
}

static int l_emergency_subscribe(lua_State *L)
{
    char why[256] = "";
    int rc = CALL_HOST(self(L), emergency_subscribe, luaL_checkstring(L, 1), luaL_checknumber(L, 2), why, sizeof(why));
    return result(L, rc, why);
}

static int l_update_performance_score(lua_State *L)
{
    int rc = CALL_HOST(self(L), update_performance_score, luaL_checkstring(L, 1), luaL_checknumber(L, 2));
    return result(L, rc, NULL);
}

static const char *opt_field(lua_State *L, const char *k, const char *def)
{
    lua_getfield(L, 1, k);
    const char *v = lua_isstring(L, -1) ? lua_tostring(L, -1) : def;
    lua_pop(L, 1); /* the string stays alive: the table holds it */
    return v;
}

static int l_signal(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *sym = opt_field(L, "symbol", NULL);
    if (!sym) return luaL_error(L, "strata.signal: symbol is required");
    const char *side = opt_field(L, "side", "");
    int s = !strcmp(side, "buy") ? STRATA_SIDE_BUY : !strcmp(side, "sell") ? STRATA_SIDE_SELL : STRATA_SIDE_NONE;
    if (s == STRATA_SIDE_NONE && *side)
        return luaL_error(L, "strata.signal: side must be \"buy\", \"sell\" or \"\" (none), not \"%s\"", side);
    lua_getfield(L, 1, "strength");
    double strength = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 1.0;
    lua_pop(L, 1);
    return result(L, CALL_HOST(self(L), signal, sym, s, strength, opt_field(L, "reason", "")), NULL);
}

static int l_every(lua_State *L)
{
    double secs = luaL_checknumber(L, 1);
    const char *name = luaL_checkstring(L, 2);
    if (!(secs > 0)) return luaL_error(L, "strata.every: the interval must be positive seconds");
    return result(L, CALL_HOST(self(L), every, (int64_t)(secs * ST_SEC), name), NULL);
}

static int l_now(lua_State *L)
{
    const st_lua_t *s = self(L);
    lua_pushnumber(L, s->host && s->host->now ? (double)s->host->now(s->ctx) / ST_SEC : 0);
    return 1;
}

static int l_orderbook(lua_State *L)
{
    st_tick_t book;
    int rc = CALL_HOST(self(L), orderbook, luaL_checkstring(L, 1), (strata_tick_t *)(void *)&book); /* one layout */
    if (rc == STRATA_PENDING) {
        lua_pushnil(L);
        lua_pushliteral(L, "pending");
        return 2;
    }
    if (rc < 0) return result(L, rc, NULL);
    lua_rawgeti(L, LUA_REGISTRYINDEX, self(L)->ref_names);
    push_book_table(L); /* a table of its own: the strategy may keep it */
    fill_book(L, lua_gettop(L) - 1, &book);
    lua_remove(L, -2);
    return 1;
}

/* strata.symbol(sym): {tier, priority, poll_interval (s), last_tick (µs), staleness (s),
 * last_price, pinned, emergency, excluded, index}; fields with nothing to say are nil. */
static int l_symbol(lua_State *L)
{
    strata_symbol_t s = {.size = sizeof(s)};
    int rc = CALL_HOST(self(L), symbol, luaL_checkstring(L, 1), &s);
    if (rc < 0) return result(L, rc, NULL);
    lua_createtable(L, 0, 10);
    lua_pushinteger(L, s.tier);
    lua_setfield(L, -2, "tier");
    if (s.prio >= 0 && s.prio < ST_PRIO_COUNT) {
        lua_pushstring(L, st_priority_names[s.prio]);
        lua_setfield(L, -2, "priority");
    }
    if (s.poll_interval_us) {
        lua_pushnumber(L, (double)s.poll_interval_us / 1e6);
        lua_setfield(L, -2, "poll_interval");
    }
    if (s.last_tick) {
        lua_pushinteger(L, s.last_tick);
        lua_setfield(L, -2, "last_tick");
        lua_pushnumber(L, (double)s.staleness_us / 1e6);
        lua_setfield(L, -2, "staleness");
        lua_pushnumber(L, s.last_price);
        lua_setfield(L, -2, "last_price");
    }
    static const char *const flags[] = {"pinned", "emergency", "excluded", "index"};
    for (unsigned i = 0; i < 4; i++) {
        lua_pushboolean(L, (s.flags >> i) & 1u);
        lua_setfield(L, -2, flags[i]);
    }
    return 1;
}

static int l_status(lua_State *L)
{
    strata_status_t st = {.size = sizeof(st)};
    int rc = CALL_HOST(self(L), status, &st);
    if (rc < 0) return result(L, rc, NULL);
    lua_createtable(L, 0, 12);
    lua_pushstring(L, st.slot ? st.slot : "");
    lua_setfield(L, -2, "slot");
    static const char *const fields[] = {"tier1", "tier2", "tier3", "indices", "ws_used", "ws_budget"};
    const int ints[] = {st.tier1, st.tier2, st.tier3, st.indices, st.ws_used, st.ws_budget};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        lua_pushinteger(L, ints[i]);
        lua_setfield(L, -2, fields[i]);
    }
    lua_createtable(L, 0, 4);
    static const char *const mine[] = {"ticks", "signals", "emergencies", "watched"};
    const uint64_t vals[] = {st.ticks, st.signals, st.emergencies, st.watched};
    for (size_t i = 0; i < 4; i++) {
        lua_pushinteger(L, (lua_Integer)vals[i]);
        lua_setfield(L, -2, mine[i]);
    }
    lua_setfield(L, -2, "strategy");
    return 1;
}

static int l_log(lua_State *L)
{
    static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
    int lvl = luaL_checkoption(L, 1, NULL, levels);
    const char *msg = luaL_checkstring(L, 2);
    const st_lua_t *s = self(L);
    if (s->host && s->host->log) s->host->log(s->ctx, lvl, "%s", msg); /* levels: STRATA_LOG_* in order */
    return 0;
}

static const luaL_Reg strata_funcs[] = {
    {"watch", l_watch},
    {"unwatch", l_unwatch},
    {"upgrade_priority", l_upgrade_priority},
    {"emergency_subscribe", l_emergency_subscribe},
    {"update_performance_score", l_update_performance_score},
    {"signal", l_signal},
    {"every", l_every},
    {"now", l_now},
    {"log", l_log},
    {"orderbook", l_orderbook},
    {"status", l_status},
    {"symbol", l_symbol},
    {NULL, NULL},
};

static int l_readonly(lua_State *L)
{
    return luaL_error(L, "the strata module is read-only");
}

/* strata.<name>: a function of the module, or an error naming what does not exist. */
static int l_strata_index(lua_State *L)
{
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    if (lua_type(L, 2) == LUA_TSTRING) return luaL_error(L, "strata has no function '%s'", lua_tostring(L, 2));
    return luaL_error(L, "strata has no function named by a %s", luaL_typename(L, 2));
}

/* setmetatable without finalizers: Lua runs __gc with hooks off, out of any budget. */
static int l_setmetatable(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: finalizers (__gc) are not allowed in a strategy");
        lua_pop(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* --- the sandbox ---------------------------------------------------------------------------- */

static void add_source(st_lua_t *s, const char *path)
{
    s->sources = st_xrealloc(s->sources, (s->nsources + 1) * sizeof(*s->sources));
    s->sources[s->nsources++] = st_xstrdup(path);
}

/* require(name): a text module from the strategy's directory ("a.b" is a/b.lua), or strata. */
static int l_require(lua_State *L)
{
    st_lua_t *s = self(L);
    const char *name = luaL_checkstring(L, 1);
    if (!strcmp(name, "strata")) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref_strata);
        return 1;
    }
    for (const char *p = name; *p; p++)
        if (!(*p == '_' || *p == '.' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return luaL_error(L, "require: \"%s\" is not a module name (letters, digits, _ and .)", name);
    if (!*name || name[0] == '.' || strstr(name, ".."))
        return luaL_error(L, "require: \"%s\" is not a module name", name);
    lua_getfield(L, LUA_REGISTRYINDEX, LOADED);
    if (lua_getfield(L, -1, name) != LUA_TNIL) return 1;
    lua_pop(L, 1);
    char path[1024];
    int n = snprintf(path, sizeof(path), "%s/", s->dir);
    for (const char *p = name; *p && n < (int)sizeof(path) - 5; p++) path[n++] = *p == '.' ? '/' : *p;
    snprintf(path + n, sizeof(path) - (size_t)n, ".lua");
    char *text;
    size_t len;
    int rc = st_file_read(path, &text, &len);
    if (rc == -ENOENT) return luaL_error(L, "require: no module \"%s\" in %s", name, s->dir);
    if (rc) return luaL_error(L, "require: cannot read %s: %s", path, st_strerror(rc));
    add_source(s, path);
    char chunk[1100];
    snprintf(chunk, sizeof(chunk), "@%s", path);
    rc = luaL_loadbufferx(L, text, len, chunk, "t");
    free(text);
    if (rc != LUA_OK) return lua_error(L);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
    return 1;
}

static void sandbox(st_lua_t *s)
{
    lua_State *L = s->L;
    static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},        {LUA_TABLIBNAME, luaopen_table},
                                    {LUA_STRLIBNAME, luaopen_string}, {LUA_MATHLIBNAME, luaopen_math},
                                    {LUA_UTF8LIBNAME, luaopen_utf8},  {LUA_COLIBNAME, luaopen_coroutine}};
    for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
        luaL_requiref(L, libs[i].name, libs[i].func, 1);
        lua_pop(L, 1);
    }
    static const char *const denied[] = {"dofile", "loadfile", "load"}; /* files, and binary chunks */
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        lua_pushnil(L);
        lua_setglobal(L, denied[i]);
    }
    /* os: the clock only */
    luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
    lua_newtable(L);
    static const char *const os_ok[] = {"time", "clock", "date", "difftime"};
    for (size_t i = 0; i < sizeof(os_ok) / sizeof(os_ok[0]); i++) {
        lua_getfield(L, -2, os_ok[i]);
        lua_setfield(L, -2, os_ok[i]);
    }
    lua_setglobal(L, "os");
    lua_pop(L, 1);
    lua_getglobal(L, "setmetatable");
    lua_pushcclosure(L, l_setmetatable, 1);
    lua_setglobal(L, "setmetatable");
    st_lua_patterns_install(L); /* string.find/match/gmatch/gsub and table.sort on the budget */
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LOADED);
    lua_pushcfunction(L, l_require);
    lua_setglobal(L, "require");
    /* strata: a read-only proxy over the functions */
    lua_newtable(L);
    lua_newtable(L);
    luaL_newlib(L, strata_funcs);
    lua_pushcclosure(L, l_strata_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_readonly);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    s->ref_strata = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_setglobal(L, "strata");
}

/* --- ticks in reused tables ----------------------------------------------------------------- */

/* Pushes a table with every field already there, so filling it never allocates. */
static void preset_table(lua_State *L, const char *const *fields, size_t n, int more)
{
    lua_createtable(L, 0, (int)n + more);
    for (size_t i = 0; i < n; i++) {
        lua_pushnumber(L, 0);
        lua_setfield(L, -2, fields[i]);
    }
}

static void push_book_table(lua_State *L)
{
    static const char *const book_fields[] = {"total_ask_qty", "total_bid_qty", "time", "recv_time"};
    preset_table(L, book_fields, 4, 4);
    for (size_t a = 0; a < 4; a++) {
        lua_createtable(L, ST_BOOK_DEPTH, 0);
        for (int i = 1; i <= ST_BOOK_DEPTH; i++) {
            lua_pushnumber(L, 0);
            lua_rawseti(L, -2, i);
        }
        lua_setfield(L, -2, tick_names[N_ASK + a]);
    }
}

/* --- the tick views --------------------------------------------------------------------------
 * A callback's tick is a view, one per state and kind (a userdata), whose fields are read from
 * the latest tick (s->tick) when the strategy reads them: nothing is written per tick, so a
 * strategy pays for the fields it reads, not for all fourteen. A view is read-only (a write
 * raises), its metatable is locked, and a userdata has no raw fields a strategy could replace:
 * whatever a callback does to it, the next one reads its own tick. pairs() lists the fields. */

static const int trade_view_fields[] = {N_PRICE,  N_VOLUME,   N_OPEN,     N_HIGH, N_LOW,       N_PREV_CLOSE, N_CUM_VOLUME,
                                   N_CUM_VALUE, N_BEST_BID, N_BEST_ASK, N_TIME, N_RECV_TIME, N_SIDE,       N_HALTED};
static const int book_view_fields[] = {N_ASK,           N_BID,           N_ASK_QTY, N_BID_QTY,
                                  N_TOTAL_ASK_QTY, N_TOTAL_BID_QTY, N_TIME,    N_RECV_TIME};

/* The field named by the string at idx (looked up in the names-to-ids table at upvalue 1), or 0. */
static int field_of(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TSTRING) return 0;
    lua_pushvalue(L, idx);
    int f = lua_rawget(L, lua_upvalueindex(1)) == LUA_TNUMBER ? (int)lua_tointeger(L, -1) : 0;
    lua_pop(L, 1);
    return f;
}

/* Pushes field f of the latest tick; false (nothing pushed) for a field a tick of this kind
 * does not have. The book view's arrays are its uservalues 1-4, refilled once a tick. */
static bool push_field(lua_State *L, st_lua_t *s, int f)
{
    const st_tick_t *t = &s->tick;
    const st_trade_t *q = &t->u.trade;
    bool book = t->kind == ST_TICK_ORDERBOOK;
    switch (f) {
    case N_TIME: lua_pushnumber(L, (double)t->venue_time / ST_SEC); return true;
    case N_RECV_TIME: lua_pushnumber(L, (double)t->recv_time / ST_SEC); return true;
    case N_TOTAL_ASK_QTY: if (!book) return false; lua_pushnumber(L, t->u.book.total_ask_qty); return true;
    case N_TOTAL_BID_QTY: if (!book) return false; lua_pushnumber(L, t->u.book.total_bid_qty); return true;
    case N_ASK: case N_BID: case N_ASK_QTY: case N_BID_QTY: {
        if (!book) return false;
        int a = f - N_ASK;
        if (lua_getiuservalue(L, 1, a + 1) != LUA_TTABLE) { /* not the book view (pairs' next, misused) */
            lua_pop(L, 1);
            return false;
        }
        if (s->arr_gen[a] != s->tick_gen) { /* raw sets: the array's metatable, if any, never runs */
            const double *v = a == 0 ? t->u.book.ask : a == 1 ? t->u.book.bid : a == 2 ? t->u.book.ask_qty : t->u.book.bid_qty;
            for (int i = 0; i < ST_BOOK_DEPTH; i++) {
                lua_pushnumber(L, v[i]);
                lua_rawseti(L, -2, i + 1);
            }
            s->arr_gen[a] = s->tick_gen;
        }
        return true;
    }
    default: break;
    }
    if (book) return false;
    switch (f) {
    case N_PRICE: lua_pushnumber(L, q->price); return true;
    case N_VOLUME: lua_pushnumber(L, q->volume); return true;
    case N_OPEN: lua_pushnumber(L, q->open); return true;
    case N_HIGH: lua_pushnumber(L, q->high); return true;
    case N_LOW: lua_pushnumber(L, q->low); return true;
    case N_PREV_CLOSE: lua_pushnumber(L, q->prev_close); return true;
    case N_CUM_VOLUME: lua_pushnumber(L, q->cum_volume); return true;
    case N_CUM_VALUE: lua_pushnumber(L, q->cum_value); return true;
    case N_BEST_BID: lua_pushnumber(L, q->best_bid); return true;
    case N_BEST_ASK: lua_pushnumber(L, q->best_ask); return true;
    case N_SIDE:
        lua_pushstring(L, q->side == ST_SIDE_BUY ? "buy" : q->side == ST_SIDE_SELL ? "sell" : "");
        return true;
    case N_HALTED: lua_pushboolean(L, (t->flags & ST_TICK_HALTED) != 0); return true;
    default: return false;
    }
}

static int l_view_index(lua_State *L)
{
    int f = field_of(L, 2);
    return f && push_field(L, self(L), f) ? 1 : 0;
}

static int l_view_write(lua_State *L)
{
    return luaL_error(L, "a tick is read-only (copy the fields you want to keep)");
}

/* pairs(view): the fields of the latest tick's kind, in a fixed order. */
static int l_view_next(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TUSERDATA); /* the iterator can be called with anything */
    st_lua_t *s = self(L);
    bool book = s->tick.kind == ST_TICK_ORDERBOOK;
    const int *order = book ? book_view_fields : trade_view_fields;
    size_t n = book ? ST_ARRAY_SIZE(book_view_fields) : ST_ARRAY_SIZE(trade_view_fields);
    int f = field_of(L, 2);
    size_t i = 0;
    if (f)
        while (i < n && order[i] != f) i++;
    i = f ? i + 1 : 0;
    if (i >= n) return 0;
    lua_rawgeti(L, lua_upvalueindex(2), order[i]);
    if (!push_field(L, s, order[i])) lua_pushnil(L);
    return 2;
}

static int l_view_pairs(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1)); /* the iterator */
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int l_view_tostring(lua_State *L)
{
    st_lua_t *s = self(L);
    lua_pushfstring(L, "%s tick", s->tick.kind == ST_TICK_ORDERBOOK ? "orderbook" : "trade");
    return 1;
}

/* A view: a userdata (with the book's four arrays as uservalues) under the locked metatable
 * at the top of the stack; pushes it and returns its reference. */
static int make_view(lua_State *L, int arrays)
{
    lua_newuserdatauv(L, 0, arrays);
    for (int a = 1; a <= arrays; a++) {
        lua_createtable(L, ST_BOOK_DEPTH, 0);
        for (int i = 1; i <= ST_BOOK_DEPTH; i++) {
            lua_pushnumber(L, 0);
            lua_rawseti(L, -2, i);
        }
        lua_setiuservalue(L, -2, a);
    }
    lua_pushvalue(L, -2);
    lua_setmetatable(L, -2);
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

static void make_tick_tables(st_lua_t *s)
{
    lua_State *L = s->L;
    lua_createtable(L, N_COUNT, 0); /* ids to names (the names table) */
    for (int i = 1; i < N_COUNT; i++) {
        lua_pushstring(L, tick_names[i]);
        lua_rawseti(L, -2, i);
    }
    lua_pushvalue(L, -1);
    s->ref_names = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_createtable(L, 0, N_COUNT); /* names to ids */
    for (int i = 1; i < N_COUNT; i++) {
        lua_rawgeti(L, -2, i);
        lua_pushinteger(L, i);
        lua_rawset(L, -3);
    }
    /* [names][ids] */
    lua_createtable(L, 0, 5); /* the views' metatable */
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, l_view_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_view_write);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -4);
    lua_pushcclosure(L, l_view_next, 2);
    lua_pushcclosure(L, l_view_pairs, 1);
    lua_setfield(L, -2, "__pairs");
    lua_pushcfunction(L, l_view_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "a tick (read-only)");
    lua_setfield(L, -2, "__metatable");
    s->ref_trade = make_view(L, 0);
    s->ref_book = make_view(L, 4);
    lua_pop(L, 3);
}

/* Raw sets only: a strategy's metatable on a tick table is never run by the host. nm is the
 * stack index of the names table, the tick table is on top. */
static void setnum(lua_State *L, int nm, int k, double v)
{
    lua_rawgeti(L, nm, k);
    lua_pushnumber(L, v);
    lua_rawset(L, -3);
}

static void fill_book(lua_State *L, int nm, const st_tick_t *t)
{
    const st_book_t *b = &t->u.book;
    const double *arr[] = {b->ask, b->bid, b->ask_qty, b->bid_qty};
    for (int a = 0; a < 4; a++) {
        lua_rawgeti(L, nm, N_ASK + a);
        if (lua_rawget(L, -2) != LUA_TTABLE) { /* the strategy replaced it: a new one */
            lua_pop(L, 1);
            lua_createtable(L, ST_BOOK_DEPTH, 0);
            lua_rawgeti(L, nm, N_ASK + a);
            lua_pushvalue(L, -2);
            lua_rawset(L, -4);
        }
        for (int i = 0; i < ST_BOOK_DEPTH; i++) {
            lua_pushnumber(L, arr[a][i]);
            lua_rawseti(L, -2, i + 1);
        }
        lua_pop(L, 1);
    }
    setnum(L, nm, N_TOTAL_ASK_QTY, b->total_ask_qty);
    setnum(L, nm, N_TOTAL_BID_QTY, b->total_bid_qty);
    setnum(L, nm, N_TIME, (double)t->venue_time / ST_SEC);
    setnum(L, nm, N_RECV_TIME, (double)t->recv_time / ST_SEC);
}

/* --- strata check: uses of functions strata does not have ---------------------------------- */

static bool is_ident(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Every `strata.<name>` in the file whose name is not a strata function is a warning
 * "file:line: strata.<name> ..." (a plain text scan: a use in a comment counts too). */
static void scan_uses(st_lua_t *s, const char *path)
{
    char *text;
    size_t len;
    if (st_file_read(path, &text, &len) != 0) return;
    int line = 1;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n') line++;
        if (len - i < 8 || memcmp(text + i, "strata.", 7) != 0 || (i && (is_ident(text[i - 1]) || text[i - 1] == '.')))
            continue;
        size_t j = i + 7, k = j;
        while (k < len && is_ident(text[k])) k++;
        if (k == j || k - j > 64) continue;
        bool known = false;
        for (const luaL_Reg *f = strata_funcs; f->name && !known; f++)
            known = strlen(f->name) == k - j && !memcmp(f->name, text + j, k - j);
        if (known) continue;
        char w[600];
        snprintf(w, sizeof(w), "%s:%d: strata.%.*s is not a strata function (strata has no function '%.*s')", path,
                 line, (int)(k - j), text + j, (int)(k - j), text + j);
        s->warnings = st_xrealloc(s->warnings, (s->nwarnings + 1) * sizeof(*s->warnings));
        s->warnings[s->nwarnings++] = st_xstrdup(w);
    }
    free(text);
}

/* --- the interface -------------------------------------------------------------------------- */

int st_lua_open(st_lua_t **out, const st_lua_cfg_t *cfg, char *err, size_t errlen)
{
    char *text;
    size_t len;
    int rc = st_file_read(cfg->path, &text, &len);
    if (rc) {
        snprintf(err, errlen, "%s: cannot read: %s", cfg->path, st_strerror(rc));
        return rc;
    }
    st_lua_t *s = st_xcalloc(1, sizeof(*s));
    s->name = st_xstrdup(cfg->name);
    s->dir = st_xstrdup(cfg->path);
    char *slash = strrchr(s->dir, '/');
    if (slash) *slash = '\0';
    else strcpy(s->dir, ".");
    s->cap = cfg->mem_cap ? cfg->mem_cap : 64u << 20;
    s->budget = cfg->budget ? cfg->budget : 10000000u;
    s->quarantine_after = cfg->quarantine_after > 0 ? cfg->quarantine_after : 5;
    s->window = ST_MAX2(cfg->quarantine_window > 0 ? cfg->quarantine_window : 100, s->quarantine_after);
    s->fault_at = st_xcalloc((size_t)s->quarantine_after, sizeof(*s->fault_at));
    s->host = cfg->host;
    s->ctx = cfg->ctx;
    s->quarantined_cb = cfg->quarantined;
    add_source(s, cfg->path);
    s->L = lua_newstate(l_alloc, s);
    if (!s->L) {
        free(text);
        snprintf(err, errlen, "%s: cannot create a Lua state", cfg->path);
        st_lua_close(s);
        return -ENOMEM;
    }
    *(st_lua_t **)lua_getextraspace(s->L) = s;
    lua_atpanic(s->L, l_panic);
    sandbox(s);
    make_tick_tables(s);
    lua_settop(s->L, 0);
    lua_pushcfunction(s->L, l_msgh); /* SLOT_MSGH */
    lua_newtable(s->L);              /* SLOT_CODES */
    lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->ref_names); /* SLOT_NAMES */
    char chunk[1100];
    snprintf(chunk, sizeof(chunk), "@%s", cfg->path);
    rc = luaL_loadbufferx(s->L, text, len, chunk, "t"); /* text only: binary chunks are refused */
    free(text);
    if (rc != LUA_OK) {
        snprintf(err, errlen, "%s", lua_tostring(s->L, -1));
        st_lua_close(s);
        return -EINVAL;
    }
    if (guarded(s, 0, 1, NULL) != 0) {
        snprintf(err, errlen, "%s", s->last_error);
        st_lua_close(s);
        return -EINVAL;
    }
    if (!lua_istable(s->L, -1)) {
        snprintf(err, errlen, "%s: a strategy must return a table of callbacks (init, on_trade, …), got %s",
                 cfg->path, luaL_typename(s->L, -1));
        st_lua_close(s);
        return -EINVAL;
    }
    lua_pushvalue(s->L, -1);
    s->ref_module = luaL_ref(s->L, LUA_REGISTRYINDEX);
    st_require(lua_gettop(s->L) == SLOT_MODULE); /* the module stays in its slot */
    for (size_t i = 0; i < s->nsources; i++) scan_uses(s, s->sources[i]);
    *out = s;
    return 0;
}

void st_lua_close(st_lua_t *s)
{
    if (!s) return;
    flush_repeats(s);
    if (s->L) lua_close(s->L);
    for (size_t i = 0; i < s->nsources; i++) free(s->sources[i]);
    free(s->sources);
    for (size_t i = 0; i < s->nwarnings; i++) free(s->warnings[i]);
    free(s->warnings);
    free(s->fault_at);
    free(s->name);
    free(s->dir);
    free(s);
}

int st_lua_init(st_lua_t *s, const char *const *keys, const char *const *values, size_t n)
{
    call_t c = {.cb = "init", .params = true, .keys = keys, .values = values, .nparams = n};
    return call(s, &c, 0);
}

int st_lua_tick(void *impl, const char *code, const st_tick_t *t)
{
    st_lua_t *s = impl;
    int k = t->kind == ST_TICK_ORDERBOOK ? N_ON_ORDERBOOK : t->kind == ST_TICK_SNAPSHOT ? N_ON_SNAPSHOT : N_ON_TRADE;
    call_t c = {.cb = tick_names[k], .cb_name = k, .code = code, .tick = t};
    return call(s, &c, 0);
}

int st_lua_on_timer(st_lua_t *s, const char *name)
{
    call_t c = {.cb = "on_timer", .arg = name};
    return call(s, &c, 0);
}

int st_lua_on_day(st_lua_t *s, const char *date)
{
    call_t c = {.cb = "on_day", .arg = date};
    return call(s, &c, 0);
}

int st_lua_on_emergency(st_lua_t *s, const char *code, bool granted, const char *why)
{
    call_t c = {.cb = "on_emergency", .code = code, .has_flag = true, .flag = granted, .arg = why};
    return call(s, &c, 0);
}

int st_lua_on_timeslot(st_lua_t *s, const char *slot)
{
    call_t c = {.cb = "on_timeslot", .arg = slot};
    return call(s, &c, 0);
}

int st_lua_shutdown(st_lua_t *s)
{
    call_t c = {.cb = "shutdown"};
    return call(s, &c, 0);
}

/* --- state handed over across a reload ------------------------------------------------------ */

#define COPY_DEPTH 32

/* Pushes onto `to` a copy of the value at `idx` of `from`: nil, booleans, numbers, strings and
 * tables of them; functions, userdata and threads become nil, a table met twice is one table in
 * the copy, and nesting deeper than COPY_DEPTH is cut. Allocates only in `to` (it runs there in
 * protected mode); `from` is only read. */
static void copy_value(lua_State *from, int idx, lua_State *to, int seen, int depth)
{
    idx = lua_absindex(from, idx);
    switch (lua_type(from, idx)) {
    case LUA_TBOOLEAN:
        lua_pushboolean(to, lua_toboolean(from, idx));
        return;
    case LUA_TNUMBER:
        if (lua_isinteger(from, idx)) lua_pushinteger(to, lua_tointeger(from, idx));
        else lua_pushnumber(to, lua_tonumber(from, idx));
        return;
    case LUA_TSTRING: {
        size_t n;
        const char *p = lua_tolstring(from, idx, &n);
        lua_pushlstring(to, p, n);
        return;
    }
    case LUA_TTABLE:
        break;
    default:
        lua_pushnil(to);
        return;
    }
    const void *key = lua_topointer(from, idx);
    if (lua_rawgetp(to, seen, key) != LUA_TNIL) return;
    lua_pop(to, 1);
    luaL_checkstack(to, 4, "state too deep");
    if (depth >= COPY_DEPTH || !lua_checkstack(from, 3)) {
        lua_pushnil(to);
        return;
    }
    lua_newtable(to);
    lua_pushvalue(to, -1);
    lua_rawsetp(to, seen, key);
    lua_pushnil(from);
    while (lua_next(from, idx)) {
        int kt = lua_type(from, -2);
        if (kt == LUA_TSTRING || kt == LUA_TNUMBER || kt == LUA_TBOOLEAN) {
            copy_value(from, -2, to, seen, depth + 1);
            copy_value(from, -1, to, seen, depth + 1);
            if (lua_isnil(to, -1)) lua_pop(to, 2);
            else lua_rawset(to, -3);
        }
        lua_pop(from, 1);
    }
}

static int l_copy_in(lua_State *to)
{
    lua_State *from = lua_touserdata(to, 1);
    lua_newtable(to); /* tables already copied, by their address in `from` */
    copy_value(from, -1, to, lua_gettop(to), 0);
    return 1;
}

/* Pushes the module's `state` field without allocating (a lookup by name would). */
static void push_state(st_lua_t *s)
{
    lua_State *L = s->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref_module);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -2) == LUA_TSTRING && !strcmp(lua_tostring(L, -2), "state")) {
            lua_replace(L, -3);
            lua_pop(L, 1);
            return;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
}

int st_lua_on_reload(st_lua_t *s, st_lua_t *old)
{
    if (s->quarantined) return 1;
    push_state(old);
    lua_pushcfunction(s->L, l_copy_in);
    lua_pushlightuserdata(s->L, old->L);
    int rc = lua_pcall(s->L, 1, 1, 0);
    lua_pop(old->L, 1);
    if (rc != LUA_OK) {
        st_log_warn(HOST, "%s: the old state was not carried over: %s", s->name, lua_tostring(s->L, -1));
        lua_pop(s->L, 1);
        lua_pushnil(s->L);
    }
    call_t c = {.cb = "on_reload"};
    return call(s, &c, 1);
}

/* Raw lookups only: no metamethod (strategy code) runs outside the guarded path. */
static int l_state_number(lua_State *L)
{
    lua_pushliteral(L, "state");
    if (lua_rawget(L, 1) != LUA_TTABLE) return 0;
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

int st_lua_state_number(st_lua_t *s, const char *key, double *out)
{
    lua_State *L = s->L;
    lua_pushcfunction(L, l_state_number);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref_module);
    lua_pushstring(L, key);
    int rc = lua_pcall(L, 2, 1, 0);
    int ok = rc == LUA_OK && lua_type(L, -1) == LUA_TNUMBER;
    if (ok) *out = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return ok ? 0 : -ENOENT;
}

const char *const *st_lua_sources(const st_lua_t *s, size_t *n)
{
    *n = s->nsources;
    return (const char *const *)s->sources;
}

const char *const *st_lua_warnings(const st_lua_t *s, size_t *n)
{
    *n = s->nwarnings;
    return (const char *const *)s->warnings;
}

void st_lua_stats(const st_lua_t *s, st_lua_stats_t *out)
{
    size_t k = (size_t)s->quarantine_after, recent = 0;
    for (size_t i = 0; i < k && i < s->faults; i++) recent += s->calls - s->fault_at[i] < (uint64_t)s->window;
    out->fault_rate = s->calls ? (double)recent / (double)ST_MIN2(s->calls, (uint64_t)s->window) : 0;
    out->calls = s->calls;
    out->faults = s->faults;
    out->faults_in_row = s->in_row;
    out->mem = s->mem;
    out->quarantined = s->quarantined;
    out->last_error = s->last_error;
    memcpy(out->faults_by, s->faults_by, sizeof(out->faults_by));
}
