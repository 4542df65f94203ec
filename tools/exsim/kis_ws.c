/* strata-exsim: KIS's WebSocket protocol — registrations (tr_type 1/2) answered as the venue
 * does (SUBSCRIBE SUCCESS, ALREADY IN SUBSCRIBE, MAX SUBSCRIBE OVER past the cap, OPSP8991/8992,
 * JSON PARSING ERROR, ALREADY IN USE appkey), PINGPONG, and what each session holds. */
#include "exsim.h"

/* --- the KIS protocol -------------------------------------------------------------------- */

const char *ex_json_str(cJSON *o, const char *a, const char *b)
{
    cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b) x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

void ex_count_rx(session_t *s, st_time_t now)
{
    s->rx_times[s->rx % RX_RING] = now;
    s->rx++;
    int in_sec = 0;
    for (uint64_t i = 0; i < s->rx && i < RX_RING; i++) in_sec += s->rx_times[(s->rx - 1 - i) % RX_RING] > now - ST_SEC;
    if (in_sec > s->max_rx_per_sec) s->max_rx_per_sec = in_sec;
}

void ex_set_reg(session_t *s, st_key_t k, bool on)
{
    st_sym_t sym = ST_KEY_SYM(k);
    uint16_t *refs = ST_KEY_CH(k) == ST_CH_BOOK ? X.book_refs : X.trade_refs;
    if (on && !s->reg[k]) {
        if (!X.trade_refs[sym] && !X.book_refs[sym]) /* what came before is history */
            st_simmkt_advance(st_universe_get(&X.upuni, sym) ? X.upmkt : X.mkt, sym, st_clock_now(&X.clock), NULL, NULL);
        s->reg[k] = 1, s->held++, refs[sym]++;
    } else if (!on && s->reg[k]) {
        s->reg[k] = 0, s->held--, refs[sym]--;
    }
    if (s->held > s->max_held) s->max_held = s->held;
    if (s->held > X.max_held_ever) X.max_held_ever = s->held;
}

/* Upbit: a candle stream of `unit` seconds for sym (0 stops it). */
void ex_set_candle(session_t *s, st_sym_t sym, int unit)
{
    if (!s->candle) s->candle = st_xcalloc(X.syms.n + 1, sizeof(*s->candle));
    struct candle *c = &s->candle[sym];
    if (unit && !c->unit) {
        if (!X.trade_refs[sym] && !X.book_refs[sym] && !X.candle_refs[sym])
            st_simmkt_advance(X.upmkt, sym, st_clock_now(&X.clock), NULL, NULL);
        X.candle_refs[sym]++;
    } else if (!unit && c->unit) {
        X.candle_refs[sym]--;
    }
    *c = (struct candle){.unit = unit};
}

void ex_on_text(session_t *s, const char *text, size_t len)
{
    st_time_t now = st_clock_now(&X.clock);
    ex_count_rx(s, now);
    st_kis_request_t q;
    st_kis_request_parse(text, len, &q);
    if (q.pingpong) { /* the client's echo */
        if (!X.fault.pong_ignore) s->pongs++;
        return;
    }
    const char *id = q.tr_id, *key = q.tr_key;
    if (q.err_cd) {
        s->errors++;
        ex_reply(s, id, key, "9", q.err_cd, q.err_msg, false);
        return;
    }
    if (!s->appkey[0] && ex_approval_expired(q.approval_key, now)) {
        X.approval_expired++;
        ex_reply(s, id, key, "1", "OPSP0011", "invalid approval : NOT FOUND", false);
        return;
    }
    if (!s->appkey[0]) {
        /* One live session per approval key. */
        for (session_t *o = X.sessions; o; o = o->next) {
            if (o != s && o->open && strcmp(o->appkey, q.approval_key) == 0) {
                s->in_use_refused = true;
                X.refused_in_use++;
                ex_reply(s, id, key, "1", "OPSP8996", "ALREADY IN USE appkey", false);
                return;
            }
        }
        snprintf(s->appkey, sizeof(s->appkey), "%s", q.approval_key);
    }
    st_channel_t ch = q.tr == ST_KIS_TR_TRADE ? ST_CH_TRADE
                      : q.tr == ST_KIS_TR_BOOK ? ST_CH_BOOK
                      : q.tr == ST_KIS_TR_INDEX ? ST_CH_INDEX : ST_CH_COUNT;
    st_sym_t sym = st_symtab_find(&X.syms, key, strlen(key));
    bool on = q.on;
    if (ch == ST_CH_COUNT) {
        ex_reply(s, id, key, "1", "OPSP8991", "SUBSCRIBE ERROR : invalid tr_id", false);
    } else if (sym == ST_SYM_NONE || !st_universe_get(&X.uni, sym) ||
               (st_universe_get(&X.uni, sym)->market == ST_MKT_INDEX) != (ch == ST_CH_INDEX)) {
        /* an index code with a stock tr_id, or a stock with H0UPCNT0, is a key the venue does not know */
        ex_reply(s, id, key, "1", "OPSP8992", "SUBSCRIBE ERROR : invalid tr_key", false);
    } else {
        st_key_t k = ST_KEY(sym, ch == ST_CH_INDEX ? ST_CH_TRADE : ch);
        if (on && s->reg[k]) {
            ex_reply(s, id, key, "1", "OPSP0002", "ALREADY IN SUBSCRIBE", false);
        } else if (on && X.fault.ack_reject > 0) {
            X.fault.ack_reject--;
            X.fault.acks_rejected++;
            ex_reply(s, id, key, "1", "OPSP0007", "SUBSCRIBE INTERNAL ERROR", false);
        } else if (on && s->held >= X.cap) {
            X.over_cap++;
            ex_reply(s, id, key, "1", "OPSP0008", "MAX SUBSCRIBE OVER", false);
        } else if (on) {
            ex_set_reg(s, k, true);
            ex_reply(s, id, key, "0", "OPSP0000", "SUBSCRIBE SUCCESS", true);
        } else if (!s->reg[k]) {
            ex_reply(s, id, key, "1", "OPSP0003", "UNSUBSCRIBE ERROR (not found!)", false);
        } else {
            ex_set_reg(s, k, false);
            ex_reply(s, id, key, "0", "OPSP0001", "UNSUBSCRIBE SUCCESS", false);
        }
    }
}
