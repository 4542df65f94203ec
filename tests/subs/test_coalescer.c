#include "../test.h"

#include "subs/coalescer.h"

#define NSYM 64
static char codes[NSYM][8];

static const char *code_of(void *ctx, st_sym_t sym)
{
    return codes[sym];
}

/* --- a fake venue: records messages, keeps the venue's own registration count ------------ */

typedef struct {
    char *msg[4096];
    st_time_t at[4096];
    size_t n;
    st_time_t now;
    /* KIS model */
    bool reg[NSYM * ST_CH_COUNT];
    bool invalid[NSYM * ST_CH_COUNT]; /* keys the venue does not know (OPSP8992 invalid tr_key) */
    int held, max_held, foreign; /* foreign: registrations made by someone else on the key */
    int cap;
    /* acks due: key, ack, time */
    st_key_t ak[4096];
    st_ack_t aa[4096];
    st_time_t at_ack[4096];
    size_t nack, next_ack;
    st_dur_t ack_delay;
} venue_t;

static st_key_t parse_kis(const char *m, bool *on)
{
    *on = strstr(m, "\"tr_type\":\"1\"") != NULL;
    const char *id = strstr(m, "\"tr_id\":\"") + 9;
    const char *key = strstr(m, "\"tr_key\":\"") + 10;
    int ch = strncmp(id, "H0STASP0", 8) == 0 ? ST_CH_BOOK : strncmp(id, "H0UPCNT0", 8) == 0 ? ST_CH_INDEX : ST_CH_TRADE;
    return ST_KEY(atoi(key), ch);
}

static int venue_send(void *ctx, const char *msg, size_t len)
{
    venue_t *v = ctx;
    assert_true(v->n < 4096);
    v->msg[v->n] = strndup(msg, len);
    v->at[v->n++] = v->now;
    if (msg[0] != '{') return 0; /* Upbit: no per-key answers */
    bool on;
    st_key_t k = parse_kis(msg, &on);
    st_ack_t ack;
    if (on) {
        if (v->invalid[k]) ack = ST_ACK_INVALID;
        else if (v->reg[k]) ack = ST_ACK_SUBSCRIBED; /* ALREADY IN SUBSCRIBE */
        else if (v->held + v->foreign >= v->cap) ack = ST_ACK_MAX_OVER;
        else v->reg[k] = true, v->held++, ack = ST_ACK_SUBSCRIBED;
    } else {
        if (v->reg[k]) v->reg[k] = false, v->held--;
        ack = ST_ACK_UNSUBSCRIBED; /* or OPSP0003 not found: nothing held either way */
    }
    if (v->held + v->foreign > v->max_held) v->max_held = v->held + v->foreign;
    v->ak[v->nack] = k;
    v->aa[v->nack] = ack;
    v->at_ack[v->nack++] = v->now + v->ack_delay;
    return 0;
}

static void venue_free(venue_t *v)
{
    for (size_t i = 0; i < v->n; i++) free(v->msg[i]);
    v->n = 0;
}

/* Delivers every ack due by `now`. */
static void deliver_acks(venue_t *v, st_coalescer_t *c, st_time_t now)
{
    while (v->next_ack < v->nack && v->at_ack[v->next_ack] <= now) {
        st_coalescer_ack(c, v->ak[v->next_ack], v->aa[v->next_ack], v->at_ack[v->next_ack]);
        v->next_ack++;
    }
}

static st_key_t refused_key;
static st_ack_t refused_ack;
static int refused_cap, refused_calls;
static void on_refused(void *ctx, st_key_t key, st_ack_t ack, int cap)
{
    refused_key = key, refused_ack = ack, refused_cap = cap;
    refused_calls++;
}

static st_limiter_t lim;
static st_limiter_tuning_t full = {1.0, 0.8, 0.5, 60 * ST_SEC, 10 * ST_SEC, 0.1, 0, 0};

static void setup_kis(st_coalescer_t *c, venue_t *v, int cap, int per_sec)
{
    memset(v, 0, sizeof(*v));
    v->cap = cap;
    st_window_t w = {per_sec, ST_SEC, 0, 0};
    st_limiter_init(&lim, &w, 1, &full);
    refused_calls = 0;
    st_coalescer_io_t io = {venue_send, code_of, on_refused, NULL, NULL, v};
    st_coalescer_init(c, ST_VENUE_KIS, NSYM, cap, &lim, 100 * ST_MSEC, &io);
    snprintf(c->approval_key, sizeof(c->approval_key), "a1b2c3d4-0000-4000-8000-000000000000");
}

static void teardown_all(st_coalescer_t *c, venue_t *v)
{
    st_coalescer_free(c);
    st_limiter_free(&lim);
    venue_free(v);
}

/* Runs flushes and acks until nothing is pending (or `until`). */
static void run_until_quiet(st_coalescer_t *c, venue_t *v, st_time_t from, st_time_t until)
{
    st_time_t now = from;
    for (int guard = 0; guard < 100000; guard++) {
        st_time_t due = st_coalescer_due(c, now);
        st_time_t ack = v->next_ack < v->nack ? v->at_ack[v->next_ack] : ST_TIME_NEVER;
        st_time_t next = due < ack ? due : ack;
        if (next == ST_TIME_NEVER || next > until) return;
        now = v->now = next;
        deliver_acks(v, c, now);
        st_coalescer_flush(c, now);
    }
    fail_msg("no quiet");
}

static void test_lone_request(void **state)
{
    st_coalescer_t c;
    venue_t v;
    setup_kis(&c, &v, 41, 5);
    assert_int_equal(st_coalescer_due(&c, 0), ST_TIME_NEVER);
    assert_int_equal(st_coalescer_want(&c, ST_KEY(42, ST_CH_TRADE), true, 0), 1);
    assert_int_equal(st_coalescer_want(&c, ST_KEY(42, ST_CH_TRADE), true, 0), 0);
    assert_int_equal(st_coalescer_due(&c, 0), 100 * ST_MSEC); /* the debounce */
    assert_int_equal(st_coalescer_flush(&c, 99 * ST_MSEC), 0);
    v.now = 100 * ST_MSEC;
    assert_int_equal(st_coalescer_flush(&c, 100 * ST_MSEC), 1);
    assert_int_equal(v.n, 1);
    assert_string_equal(v.msg[0],
                        "{\"header\":{\"approval_key\":\"a1b2c3d4-0000-4000-8000-000000000000\","
                        "\"custtype\":\"P\",\"tr_type\":\"1\",\"content-type\":\"utf-8\"},"
                        "\"body\":{\"input\":{\"tr_id\":\"H0STCNT0\",\"tr_key\":\"000042\"}}}");
    assert_int_equal(c.st.lat_max, 100 * ST_MSEC);
    assert_int_equal(st_coalescer_due(&c, 100 * ST_MSEC), ST_TIME_NEVER);
    deliver_acks(&v, &c, 100 * ST_MSEC);
    assert_true(st_ledger_state(&c.ledger, ST_KEY(42, ST_CH_TRADE)) & ST_LK_CONFIRMED);
    teardown_all(&c, &v);
}

static void test_limiter_wait(void **state)
{
    st_coalescer_t c;
    venue_t v;
    setup_kis(&c, &v, 41, 5);
    for (int i = 0; i < 5; i++) assert_true(st_limiter_try(&lim, 0)); /* someone else's tokens */
    st_coalescer_want(&c, ST_KEY(1, ST_CH_TRADE), true, 0);
    assert_int_equal(st_coalescer_due(&c, 0), ST_SEC); /* debounce 100 ms, token at 1 s */
    v.now = ST_SEC;
    assert_int_equal(st_coalescer_flush(&c, ST_SEC), 1);
    assert_int_equal(c.st.lat_max, ST_SEC);
    teardown_all(&c, &v);
}

static void test_kis_unregister_first_and_cap(void **state)
{
    st_coalescer_t c;
    venue_t v;
    setup_kis(&c, &v, 3, 100);
    v.ack_delay = 10 * ST_MSEC;
    st_key_t A = ST_KEY(1, ST_CH_TRADE), B = ST_KEY(2, ST_CH_TRADE), C = ST_KEY(3, ST_CH_TRADE),
             D = ST_KEY(4, ST_CH_TRADE), E = ST_KEY(5, ST_CH_BOOK);
    st_coalescer_want(&c, A, true, 0);
    st_coalescer_want(&c, B, true, 0);
    st_coalescer_want(&c, C, true, 0);
    run_until_quiet(&c, &v, 0, ST_SEC);
    assert_int_equal(c.ledger.confirmed, 3);
    venue_free(&v);
    /* New set {C, D, E}: mixed order of requests. */
    st_time_t t = 2 * ST_SEC;
    st_coalescer_want(&c, D, true, t);
    st_coalescer_want(&c, A, false, t);
    st_coalescer_want(&c, E, true, t);
    st_coalescer_want(&c, B, false, t);
    v.now = t + 100 * ST_MSEC;
    /* First flush: both unregisters; the registers wait (the venue still counts A and B). */
    assert_int_equal(st_coalescer_flush(&c, v.now), 2);
    assert_non_null(strstr(v.msg[0], "\"tr_type\":\"2\""));
    assert_non_null(strstr(v.msg[1], "\"tr_type\":\"2\""));
    assert_int_equal(st_coalescer_due(&c, v.now), ST_TIME_NEVER); /* waiting for answers */
    run_until_quiet(&c, &v, v.now, 10 * ST_SEC);
    assert_int_equal(v.n, 4);
    assert_non_null(strstr(v.msg[2], "\"tr_type\":\"1\""));
    assert_non_null(strstr(v.msg[3], "\"tr_type\":\"1\""));
    assert_non_null(strstr(v.msg[3], "H0STASP0")); /* E is a book key */
    assert_true(v.at[2] >= v.at[0] + v.ack_delay); /* sent after an unregister was answered */
    assert_int_equal(v.max_held, 3); /* never over the cap, even in between */
    assert_true(v.reg[C] && v.reg[D] && v.reg[E] && !v.reg[A] && !v.reg[B]);
    assert_int_equal(c.ledger.confirmed, 3);
    teardown_all(&c, &v);
}

/* Issue 23.15: unregisters go first even with room to spare. One message a second, A held, B
 * wanted and A unwanted at once: the first message sent is A's unregister, then B's register.
 * (At the cap the cap check holds registers back anyway, so only this shows the order.) */
static void test_kis_unregister_first_with_room(void **state)
{
    st_coalescer_t c;
    venue_t v;
    setup_kis(&c, &v, 41, 1);
    st_key_t A = ST_KEY(1, ST_CH_TRADE), B = ST_KEY(2, ST_CH_TRADE);
    st_coalescer_want(&c, A, true, 0);
    run_until_quiet(&c, &v, 0, 5 * ST_SEC);
    assert_int_equal(c.ledger.confirmed, 1);
    venue_free(&v);
    st_time_t t = 10 * ST_SEC;
    st_coalescer_want(&c, B, true, t);
    st_coalescer_want(&c, A, false, t);
    run_until_quiet(&c, &v, t, 20 * ST_SEC);
    assert_int_equal(v.n, 2);
    assert_non_null(strstr(v.msg[0], "\"tr_type\":\"2\""));
    assert_non_null(strstr(v.msg[0], "\"tr_key\":\"000001\""));
    assert_non_null(strstr(v.msg[1], "\"tr_type\":\"1\""));
    assert_non_null(strstr(v.msg[1], "\"tr_key\":\"000002\""));
    assert_true(v.at[1] - v.at[0] >= ST_SEC); /* one a second */
    assert_true(v.reg[B] && !v.reg[A]);
    teardown_all(&c, &v);
}

static void test_cancellation(void **state)
{
    st_coalescer_t c;
    venue_t v;
    setup_kis(&c, &v, 41, 100);
    st_key_t A = ST_KEY(1, ST_CH_TRADE), B = ST_KEY(2, ST_CH_TRADE);
    st_coalescer_want(&c, B, true, 0);
    run_until_quiet(&c, &v, 0, ST_SEC);
    venue_free(&v);
    st_coalescer_want(&c, A, true, 2 * ST_SEC);  /* on, then off: nothing */
    st_coalescer_want(&c, A, false, 2 * ST_SEC);
    st_coalescer_want(&c, B, false, 2 * ST_SEC); /* off, then on: nothing */
    st_coalescer_want(&c, B, true, 2 * ST_SEC + 50 * ST_MSEC);
    run_until_quiet(&c, &v, 2 * ST_SEC, 10 * ST_SEC);
    assert_int_equal(v.n, 0);
    assert_int_equal(c.st.cancelled, 2);
    assert_int_equal(c.st.requests, 5);
    assert_true(st_ledger_state(&c.ledger, B) & ST_LK_CONFIRMED);
    teardown_all(&c, &v);
}

static void test_upbit_unified_message(void **state)
{
    st_coalescer_t c;
    venue_t v;
    memset(&v, 0, sizeof(v));
    st_window_t w[2] = {{5, ST_SEC, 0, 0}, {100, ST_MIN, 0, 0}};
    st_limiter_init(&lim, w, 2, &full);
    st_coalescer_io_t io = {venue_send, code_of, NULL, NULL, NULL, &v};
    st_coalescer_init(&c, ST_VENUE_UPBIT, NSYM, 1000, &lim, 100 * ST_MSEC, &io);
    st_coalescer_want(&c, ST_KEY(1, ST_CH_TRADE), true, 0);
    st_coalescer_want(&c, ST_KEY(2, ST_CH_TRADE), true, 0);
    st_coalescer_want(&c, ST_KEY(1, ST_CH_BOOK), true, 0);
    v.now = 100 * ST_MSEC;
    assert_int_equal(st_coalescer_flush(&c, v.now), 1);
    assert_string_equal(v.msg[0], "[{\"ticket\":\"strata\"},{\"type\":\"trade\",\"codes\":[\"000001\",\"000002\"]},"
                                  "{\"type\":\"orderbook\",\"codes\":[\"000001\"]},{\"format\":\"DEFAULT\"}]");
    /* First data confirms a key; then a new code and a one-off snapshot. */
    st_coalescer_ack(&c, ST_KEY(1, ST_CH_TRADE), ST_ACK_SUBSCRIBED, 200 * ST_MSEC);
    st_coalescer_want(&c, ST_KEY(3, ST_CH_TRADE), true, ST_SEC);
    st_coalescer_snapshot(&c, ST_KEY(4, ST_CH_TICKER), ST_SEC);
    c.simple_format = true;
    v.now = ST_SEC + 100 * ST_MSEC;
    assert_int_equal(st_coalescer_flush(&c, v.now), 1);
    assert_string_equal(v.msg[1], "[{\"ticket\":\"strata\"},"
                                  "{\"type\":\"trade\",\"codes\":[\"000001\"],\"is_only_realtime\":true},"
                                  "{\"type\":\"trade\",\"codes\":[\"000002\",\"000003\"]},"
                                  "{\"type\":\"orderbook\",\"codes\":[\"000001\"]},"
                                  "{\"type\":\"ticker\",\"codes\":[\"000004\"],\"is_only_snapshot\":true},"
                                  "{\"format\":\"SIMPLE\"}]");
    /* The snapshot is not part of the set: removing everything leaves an empty set. */
    assert_false(st_ledger_state(&c.ledger, ST_KEY(4, ST_CH_TICKER)) & ST_LK_DESIRED);
    st_coalescer_want(&c, ST_KEY(1, ST_CH_TRADE), false, 2 * ST_SEC);
    st_coalescer_want(&c, ST_KEY(2, ST_CH_TRADE), false, 2 * ST_SEC);
    st_coalescer_want(&c, ST_KEY(3, ST_CH_TRADE), false, 2 * ST_SEC);
    st_coalescer_want(&c, ST_KEY(1, ST_CH_BOOK), false, 2 * ST_SEC);
    v.now = 3 * ST_SEC;
    assert_int_equal(st_coalescer_flush(&c, v.now), 1);
    assert_string_equal(v.msg[2], "[{\"ticket\":\"strata\"},{\"format\":\"SIMPLE\"}]");
    assert_int_equal(c.ledger.confirmed, 0);
    teardown_all(&c, &v);
}

static void test_max_over(void **state)
{
    st_coalescer_t c;
    venue_t v;
    setup_kis(&c, &v, 41, 1000);
    v.foreign = 2; /* the venue counts two registrations we do not know about */
    for (int i = 0; i < 41; i++) st_coalescer_want(&c, ST_KEY(i, ST_CH_TRADE), true, 0);
    run_until_quiet(&c, &v, 0, 10 * ST_SEC);
    assert_int_equal(c.ledger.confirmed, 39);
    assert_int_equal(c.ledger.cap, 39); /* believed the venue */
    assert_int_equal(refused_ack, ST_ACK_MAX_OVER); /* and said so, for the planner */
    assert_int_equal(refused_cap, 39);
    assert_int_equal(refused_calls, 2);
    assert_int_equal(v.max_held, 41);
    size_t sent = v.n;
    run_until_quiet(&c, &v, 10 * ST_SEC, 20 * ST_SEC);
    assert_int_equal(v.n, sent); /* no retry storm */
    /* A released slot goes to a key that waited since its refusal. */
    st_coalescer_want(&c, ST_KEY(0, ST_CH_TRADE), false, 30 * ST_SEC);
    run_until_quiet(&c, &v, 30 * ST_SEC, 40 * ST_SEC);
    assert_int_equal(v.n, sent + 2);
    assert_int_equal(c.ledger.confirmed, 39);
    teardown_all(&c, &v);
}

/* An invalid key is refused once and not retried until it is wanted anew. */
static void test_invalid_key(void **state)
{
    st_coalescer_t c;
    venue_t v;
    setup_kis(&c, &v, 41, 1000);
    st_key_t bad = ST_KEY(50, ST_CH_BOOK);
    v.invalid[bad] = true;
    size_t before = v.n;
    st_coalescer_want(&c, bad, true, 40 * ST_SEC);
    run_until_quiet(&c, &v, 40 * ST_SEC, 60 * ST_SEC);
    assert_int_equal(v.n, before + 1);
    assert_true(st_ledger_state(&c.ledger, bad) & ST_LK_FAILED);
    assert_int_equal(c.ledger.reason[bad], ST_ACK_INVALID);
    assert_int_equal(refused_calls, 1);
    assert_int_equal(refused_key, bad);
    assert_int_equal(refused_ack, ST_ACK_INVALID);
    st_coalescer_want(&c, bad, false, 61 * ST_SEC);
    st_coalescer_want(&c, bad, true, 61 * ST_SEC);
    run_until_quiet(&c, &v, 61 * ST_SEC, 70 * ST_SEC);
    assert_int_equal(v.n, before + 2); /* wanted anew: tried once more */
    teardown_all(&c, &v);
}

/* 20 strategies, two keys each, change their keys 10,000 times within one second (every change
 * changes the connection's desired set). The coalescer ends with the venue holding exactly the
 * final desired set, never above the cap, never above the message rate in any window, in far
 * fewer messages than requests. */
static void storm(st_venue_t venue, size_t *messages, uint64_t *requests)
{
    enum { STRATS = 20, CHANGES = 10000, KEYS = 40 };
    st_coalescer_t c;
    venue_t *v = calloc(1, sizeof(*v));
    v->cap = 41;
    v->ack_delay = 5 * ST_MSEC;
    st_window_t w[2] = {{5, ST_SEC, 0, 0}, {100, ST_MIN, 0, 0}};
    st_limiter_init(&lim, w, venue == ST_VENUE_UPBIT ? 2 : 1, &full);
    st_coalescer_io_t io = {venue_send, code_of, NULL, NULL, NULL, v};
    st_coalescer_init(&c, venue, NSYM, 41, &lim, 100 * ST_MSEC, &io);
    static uint8_t holds[STRATS][KEYS];
    static int refs[KEYS];
    memset(holds, 0, sizeof(holds));
    memset(refs, 0, sizeof(refs));
    uint64_t r = 99;
    st_time_t now = 0;
    for (int i = 0; i < CHANGES; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        int s = (int)(r % STRATS), k = s * 2 + (int)((r >> 8) % 2);
        st_time_t t = (st_time_t)i * ST_SEC / CHANGES;
        /* Let flushes and answers due before this request happen first. */
        run_until_quiet(&c, v, now, t);
        now = v->now = t;
        holds[s][k] ^= 1;
        refs[k] += holds[s][k] ? 1 : -1;
        st_key_t key = ST_KEY(k / 2, k % 2 ? ST_CH_BOOK : ST_CH_TRADE);
        st_coalescer_want(&c, key, refs[k] > 0, t);
    }
    run_until_quiet(&c, v, now, 10 * ST_MIN);
    if (venue == ST_VENUE_UPBIT) /* first data confirms what the last message asked for */
        for (int k = 0; k < KEYS; k++) {
            st_key_t key = ST_KEY(k / 2, k % 2 ? ST_CH_BOOK : ST_CH_TRADE);
            if (refs[k] > 0) st_coalescer_ack(&c, key, ST_ACK_SUBSCRIBED, 10 * ST_MIN);
        }
    for (int k = 0; k < KEYS; k++) {
        st_key_t key = ST_KEY(k / 2, k % 2 ? ST_CH_BOOK : ST_CH_TRADE);
        bool want = refs[k] > 0;
        assert_int_equal(!!(st_ledger_state(&c.ledger, key) & ST_LK_CONFIRMED), want);
        if (venue == ST_VENUE_KIS) assert_int_equal(v->reg[key], want);
    }
    assert_true(v->max_held <= 41);
    for (size_t i = 0; i < v->n; i++) { /* 5 per second (and 100 per minute for Upbit) */
        int in_sec = 0, in_min = 0;
        for (size_t j = 0; j <= i; j++) {
            in_sec += v->at[j] > v->at[i] - ST_SEC;
            in_min += v->at[j] > v->at[i] - ST_MIN;
        }
        assert_true(in_sec <= 5);
        if (venue == ST_VENUE_UPBIT) assert_true(in_min <= 100);
    }
    *messages = v->n;
    *requests = c.st.requests;
    st_coalescer_free(&c);
    st_limiter_free(&lim);
    venue_free(v);
    free(v);
}

static void test_storm(void **state)
{
    size_t mk, mu;
    uint64_t rk, ru;
    storm(ST_VENUE_KIS, &mk, &rk);
    storm(ST_VENUE_UPBIT, &mu, &ru);
    printf("# storm of 10,000 changes: KIS %zu messages for %llu desired-set changes, "
           "Upbit %zu messages for %llu\n", mk, (unsigned long long)rk, mu, (unsigned long long)ru);
    assert_true(rk > 1000 && ru > 1000);
    assert_true(mk * 10 <= rk);
    assert_true(mu * 10 <= ru);
}

static void test_rate_error_slows_flushes(void **state)
{
    st_coalescer_t c;
    venue_t v;
    setup_kis(&c, &v, 41, 10);
    for (int i = 0; i < 30; i++) st_coalescer_want(&c, ST_KEY(i, ST_CH_TRADE), true, 0);
    v.now = 100 * ST_MSEC;
    assert_int_equal(st_coalescer_flush(&c, v.now), 10);
    st_limiter_rate_error(&lim, v.now); /* the venue said: too many */
    st_time_t due = st_coalescer_due(&c, v.now);
    assert_int_equal(due, 1100 * ST_MSEC);
    v.now = due;
    assert_int_equal(st_coalescer_flush(&c, due), 8); /* 10 x 0.8 */
    teardown_all(&c, &v);
}

static void test_reset_resends_everything(void **state)
{
    st_coalescer_t c;
    venue_t v;
    setup_kis(&c, &v, 41, 100);
    for (int i = 0; i < 5; i++) st_coalescer_want(&c, ST_KEY(i, ST_CH_TRADE), true, 0);
    run_until_quiet(&c, &v, 0, ST_SEC);
    assert_int_equal(c.ledger.confirmed, 5);
    memset(v.reg, 0, sizeof(v.reg)); /* the connection dropped: the venue forgot us */
    v.held = 0;
    st_coalescer_reset(&c, 2 * ST_SEC);
    assert_int_equal(c.ledger.confirmed, 0);
    run_until_quiet(&c, &v, 2 * ST_SEC, 5 * ST_SEC);
    assert_int_equal(c.ledger.confirmed, 5);
    assert_int_equal(v.held, 5);
    teardown_all(&c, &v);
}

/* Issue 23.6: a key asked for while the connection is down waits from the reconnect, not from
 * the request: request-to-send latency is strata's pacing, never the outage (three 1 s drops
 * once reported a p99 of 67 s). */
static void test_latency_restarts_at_reconnect(void **state)
{
    st_coalescer_t c;
    venue_t v;
    setup_kis(&c, &v, 41, 100);
    st_coalescer_want(&c, ST_KEY(7, ST_CH_TRADE), true, 0); /* the connection is down: no flush */
    st_coalescer_reset(&c, 60 * ST_SEC);                     /* it opens a minute later */
    run_until_quiet(&c, &v, 60 * ST_SEC, 70 * ST_SEC);
    assert_int_equal(c.ledger.confirmed, 1);
    assert_int_equal(c.st.lat_max, 0); /* sent as the connection opened, not 60 s "late" */
    teardown_all(&c, &v);
}

/* Issue 23.3: a strategy churning five changes a second on Upbit (5/s, 100/min) for three
 * minutes, with an emergency every 13 s. Paced, no change waits more than one pacing interval
 * plus the debounce (unpaced, the minute's 100 went in 20 s and changes then waited ~40 s), and
 * every emergency leaves the moment it is asked, from the reserve; no window is ever exceeded. */
static void test_emergency_fast_under_churn(void **state)
{
    st_coalescer_t c;
    venue_t v;
    memset(&v, 0, sizeof(v));
    st_limiter_init_messages(&lim, 5, 100, ST_LIMITER_AGGRESSIVE);
    st_coalescer_io_t io = {venue_send, code_of, NULL, NULL, NULL, &v};
    st_coalescer_init(&c, ST_VENUE_UPBIT, NSYM, 1000, &lim, 100 * ST_MSEC, &io);
    static st_time_t sent[4096];
    st_time_t now = 0, asked = -1;
    int emergencies = 0;
    uint64_t r = 99;
    for (st_time_t t = 0; t < 3 * ST_MIN; t += 200 * ST_MSEC) {
        for (st_time_t due; (due = st_coalescer_due(&c, now)) <= t;) {
            now = v.now = due;
            size_t before = v.n;
            st_coalescer_flush(&c, now);
            for (size_t i = before; i < v.n; i++) sent[i] = now;
            if (v.n > before && asked >= 0) { /* the first message after the ask carries it */
                assert_int_equal(now, asked);
                asked = -1;
            }
        }
        now = v.now = t;
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        st_key_t k = ST_KEY(10 + r % 30, ST_CH_TRADE);
        st_coalescer_want(&c, k, !(st_ledger_state(&c.ledger, k) & ST_LK_DESIRED), t);
        if (t % (13 * ST_SEC) == 0 && t > 0) {
            assert_int_equal(st_coalescer_want(&c, ST_KEY(40 + emergencies++, ST_CH_TRADE), true, t), 1);
            st_coalescer_urgent(&c, t);
            asked = t;
        }
    }
    assert_int_equal(emergencies, 13);
    printf("# churn: %zu messages, latency max %.0f ms\n", v.n, (double)c.st.lat_max / ST_MSEC);
    assert_true(c.st.lat_max <= 700 * ST_MSEC + 100 * ST_MSEC);
    assert_int_equal(c.st.urgent, 13);
    for (size_t i = 0; i < v.n; i++) { /* 5 in any second, 100 in any minute */
        int in_sec = 0, in_min = 0;
        for (size_t j = 0; j <= i; j++) in_sec += sent[j] > sent[i] - ST_SEC, in_min += sent[j] > sent[i] - ST_MIN;
        assert_true(in_sec <= 5 && in_min <= 100);
    }
    teardown_all(&c, &v);
}

int main(void)
{
    for (int i = 0; i < NSYM; i++) snprintf(codes[i], sizeof(codes[i]), "%06d", i);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lone_request),
        cmocka_unit_test(test_limiter_wait),
        cmocka_unit_test(test_kis_unregister_first_and_cap),
        cmocka_unit_test(test_kis_unregister_first_with_room),
        cmocka_unit_test(test_cancellation),
        cmocka_unit_test(test_upbit_unified_message),
        cmocka_unit_test(test_max_over),
        cmocka_unit_test(test_invalid_key),
        cmocka_unit_test(test_storm),
        cmocka_unit_test(test_rate_error_slows_flushes),
        cmocka_unit_test(test_reset_resends_everything),
        cmocka_unit_test(test_latency_restarts_at_reconnect),
        cmocka_unit_test(test_emergency_fast_under_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
