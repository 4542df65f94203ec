/* strata-exsim: the test-and-operator side — GET /control/stats (the accounting), GET
 * /control/fault (faults to inject), and the HTTP routes to each protocol's handlers. */
#include "exsim.h"

/* --- accounting ------------------------------------------------------------------------------ */

static char *stats_json(void)
{
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "sessions");
    for (session_t *s = X.sessions; s; s = s->next) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", s->id);
        cJSON_AddStringToObject(o, "venue", s->upbit ? "upbit" : "kis");
        if (s->upbit) cJSON_AddNumberToObject(o, "violations", s->violations);
        cJSON_AddStringToObject(o, "appkey", s->appkey);
        cJSON_AddBoolToObject(o, "open", s->open);
        cJSON_AddNumberToObject(o, "registrations", s->held);
        cJSON *held = cJSON_AddArrayToObject(o, "held"); /* what is registered now: "CODE/channel" */
        for (st_key_t k = 0; s->open && k < (st_key_t)X.syms.n * ST_CH_COUNT; k++) {
            if (!s->reg[k]) continue;
            char what[64];
            snprintf(what, sizeof(what), "%s/%s", st_symtab_code(&X.syms, ST_KEY_SYM(k)), st_channel_names[ST_KEY_CH(k)]);
            cJSON_AddItemToArray(held, cJSON_CreateString(what));
        }
        cJSON_AddNumberToObject(o, "max_registrations", s->max_held);
        cJSON_AddNumberToObject(o, "messages", (double)s->rx);
        cJSON_AddNumberToObject(o, "max_messages_per_second", s->max_rx_per_sec);
        cJSON_AddNumberToObject(o, "frames", (double)s->frames);
        cJSON_AddNumberToObject(o, "pings", (double)s->pings);
        cJSON_AddNumberToObject(o, "pongs", (double)s->pongs);
        cJSON_AddNumberToObject(o, "errors", (double)s->errors);
        cJSON_AddNumberToObject(o, "frames_dropped", (double)s->dropped);
        cJSON_AddItemToArray(arr, o);
    }
    cJSON_AddNumberToObject(root, "sessions_total", (double)X.sessions_total);
    cJSON_AddNumberToObject(root, "max_registrations_ever", X.max_held_ever);
    cJSON_AddNumberToObject(root, "registration_cap", X.cap);
    cJSON_AddNumberToObject(root, "refused_over_cap", (double)X.over_cap);
    cJSON_AddNumberToObject(root, "refused_in_use", (double)X.refused_in_use);
    cJSON_AddNumberToObject(root, "frames_sent", (double)X.frames_total);
    cJSON_AddNumberToObject(root, "frames_dropped", (double)X.frames_dropped);
    cJSON_AddNumberToObject(root, "upbit_violations", (double)X.up_violations);
    cJSON_AddNumberToObject(root, "upbit_closed", (double)X.up_closed);
    cJSON *cl = cJSON_AddObjectToObject(root, "close_frames");
    cJSON_AddNumberToObject(cl, "normal", (double)X.close_normal);
    cJSON_AddNumberToObject(cl, "going_away", (double)X.close_going_away);
    cJSON_AddNumberToObject(cl, "private_4000", (double)X.close_strata);
    cJSON_AddNumberToObject(cl, "other", (double)X.close_other);
    cJSON_AddNumberToObject(root, "upbit_origin_requests", (double)X.up_origin);
    cJSON_AddNumberToObject(root, "upbit_origin_refused", (double)X.up_origin_refused);
    cJSON *ur = cJSON_AddObjectToObject(root, "upbit_rest");
    cJSON_AddNumberToObject(ur, "ok", (double)X.up_rest_ok);
    cJSON_AddNumberToObject(ur, "refused_429", (double)X.up_n429);
    cJSON_AddNumberToObject(ur, "refused_418", (double)X.up_n418);
    cJSON *rest = cJSON_AddObjectToObject(root, "rest");
    cJSON_AddNumberToObject(rest, "calls", (double)X.rest_calls);
    cJSON_AddNumberToObject(rest, "ok", (double)X.rest_ok);
    cJSON_AddNumberToObject(rest, "refused_rate", (double)X.rest_rate_refused);
    cJSON_AddNumberToObject(rest, "refused_token", (double)X.rest_token_refused);
    cJSON_AddNumberToObject(rest, "max_per_second", X.rest_max_per_second);
    cJSON_AddNumberToObject(rest, "limit_per_second", X.paper ? 2 : 20);
    cJSON_AddNumberToObject(rest, "tokens_issued", (double)X.tokens_issued);
    cJSON_AddNumberToObject(rest, "tokens_refused", (double)X.tokens_refused);
    cJSON_AddNumberToObject(rest, "auth_refused", (double)X.auth_refused);
    cJSON_AddNumberToObject(rest, "approval_expired", (double)X.approval_expired);
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}


static char *fault_json(void)
{
    cJSON *j = cJSON_CreateObject();
    st_time_t now = st_clock_now(&X.clock);
    cJSON_AddNumberToObject(j, "stall_ms", now < X.fault.stall_until ? (double)(X.fault.stall_until - now) / 1e3 : 0);
    cJSON_AddNumberToObject(j, "quiet_ms", now < X.fault.quiet_until ? (double)(X.fault.quiet_until - now) / 1e3 : 0);
    cJSON_AddNumberToObject(j, "malformed", X.fault.malformed);
    cJSON_AddNumberToObject(j, "encrypted", X.fault.encrypted);
    cJSON_AddNumberToObject(j, "ack_delay_ms", (double)X.fault.ack_delay / 1e3);
    cJSON_AddNumberToObject(j, "ack_reject", X.fault.ack_reject);
    cJSON_AddNumberToObject(j, "rest_error", X.fault.rest_error);
    cJSON_AddNumberToObject(j, "rest_timeout", X.fault.rest_timeout);
    cJSON_AddBoolToObject(j, "pong_ignore", X.fault.pong_ignore);
    cJSON_AddNumberToObject(j, "drops", (double)X.fault.drops);
    cJSON_AddNumberToObject(j, "malformed_sent", (double)X.fault.malformed_sent);
    cJSON_AddNumberToObject(j, "encrypted_sent", (double)X.fault.encrypted_sent);
    cJSON_AddNumberToObject(j, "acks_rejected", (double)X.fault.acks_rejected);
    cJSON_AddNumberToObject(j, "rest_errors", (double)X.fault.rest_errors);
    cJSON_AddNumberToObject(j, "rest_timeouts", (double)X.fault.rest_timeouts);
    cJSON_AddNumberToObject(j, "rest_jittered", (double)X.fault.jittered);
    char *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return out;
}

/* GET /control/fault?drop=1&stall=30s&quiet=60s&malformed=3&encrypted=1&ack_delay=2s&ack_reject=1&rest_error=2
 *                   &rest_timeout=1&pong_ignore=1 (any subset; 0 or 0s clears). */
http_reply_t ex_fault(struct lws *wsi)
{
    char buf[128];
    const char *v;
    st_dur_t d;
    st_time_t now = st_clock_now(&X.clock);
    if ((v = lws_get_urlarg_by_name(wsi, "drop=", buf, sizeof(buf))) && atoi(v)) {
        for (session_t *s = X.sessions; s; s = s->next) {
            if (!s->open || !s->wsi) continue;
            lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
            X.fault.drops++;
        }
    }
    if ((v = lws_get_urlarg_by_name(wsi, "stall=", buf, sizeof(buf))) && st_parse_duration(v, &d) == 0) {
        X.fault.stall_until = now + d;
        ex_stall_rx(d > 0);
    }
    if ((v = lws_get_urlarg_by_name(wsi, "quiet=", buf, sizeof(buf))) && st_parse_duration(v, &d) == 0)
        X.fault.quiet_until = now + d;
    if ((v = lws_get_urlarg_by_name(wsi, "malformed=", buf, sizeof(buf)))) X.fault.malformed = atoi(v);
    if ((v = lws_get_urlarg_by_name(wsi, "encrypted=", buf, sizeof(buf)))) X.fault.encrypted = atoi(v);
    if ((v = lws_get_urlarg_by_name(wsi, "ack_delay=", buf, sizeof(buf))) && st_parse_duration(v, &d) == 0)
        X.fault.ack_delay = d;
    if ((v = lws_get_urlarg_by_name(wsi, "ack_reject=", buf, sizeof(buf)))) X.fault.ack_reject = atoi(v);
    if ((v = lws_get_urlarg_by_name(wsi, "rest_error=", buf, sizeof(buf)))) X.fault.rest_error = atoi(v);
    if ((v = lws_get_urlarg_by_name(wsi, "rest_timeout=", buf, sizeof(buf)))) X.fault.rest_timeout = atoi(v);
    if ((v = lws_get_urlarg_by_name(wsi, "pong_ignore=", buf, sizeof(buf)))) X.fault.pong_ignore = atoi(v) != 0;
    http_reply_t r = {.status = 200, .body = fault_json()};
    return r;
}

http_reply_t ex_route(struct lws *wsi, bool post, const char *uri, const char *body)
{
    if (!post && strcmp(uri, "/control/fault") == 0) return ex_fault(wsi);
    if (!post && strcmp(uri, "/control/stats") == 0) {
        http_reply_t r = {.status = 200, .body = stats_json()};
        return r;
    }
    if (post && strcmp(uri, "/oauth2/tokenP") == 0) return ex_token(body);
    if (post && strcmp(uri, "/oauth2/Approval") == 0) return ex_approval(body);
    if (!post && strcmp(uri, "/uapi/domestic-stock/v1/quotations/inquire-price") == 0) return ex_inquire_price(wsi);
    if (!post && strcmp(uri, "/uapi/domestic-stock/v1/quotations/inquire-asking-price-exp-ccn") == 0)
        return ex_asking_price(wsi);
    if (!post && strcmp(uri, "/uapi/domestic-stock/v1/quotations/intstock-multprice") == 0) return ex_multprice(wsi);
    if (!post && strncmp(uri, "/v1/", 4) == 0) return ex_up_rest(wsi, uri);
    return ex_kis_error(404, "EGW00002", "not found");
}
