/* strata-exsim: KIS's REST protocol — OAuth (access tokens, one a minute per key; approval
 * keys), the per-key call rate (EGW00201), and the quotations strata polls. */
#include "exsim.h"

/* --- KIS REST ----------------------------------------------------------------------------- */

static struct app *app_get(const char *key, bool create)
{
    for (int i = 0; i < X.napps; i++)
        if (strcmp(X.apps[i].key, key) == 0) return &X.apps[i];
    if (!create || X.napps == (int)ST_ARRAY_SIZE(X.apps)) return NULL;
    struct app *a = &X.apps[X.napps++];
    memset(a, 0, sizeof(*a));
    snprintf(a->key, sizeof(a->key), "%s", key);
    return a;
}


http_reply_t ex_jreply(int status, cJSON *j)
{
    http_reply_t r = {.status = status, .body = cJSON_PrintUnformatted(j)};
    cJSON_Delete(j);
    return r;
}

http_reply_t ex_kis_error(int status, const char *cd, const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "rt_cd", "1");
    cJSON_AddStringToObject(j, "msg_cd", cd);
    cJSON_AddStringToObject(j, "msg1", msg);
    return ex_jreply(status, j);
}

static http_reply_t oauth_error(int status, const char *cd, const char *desc)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error_description", desc);
    cJSON_AddStringToObject(j, "error_code", cd);
    return ex_jreply(status, j);
}

http_reply_t ex_token(const char *body)
{
    cJSON *in = cJSON_Parse(body);
    const char *key = ex_json_str(in, "appkey", NULL), *secret = ex_json_str(in, "appsecret", NULL);
    http_reply_t r;
    if (!key || !*key || !secret || !*secret) {
        r = oauth_error(403, "EGW00103", "유효하지 않은 AppKey입니다.");
    } else {
        struct app *a = app_get(key, true);
        st_time_t now = st_clock_now(&X.clock);
        if (X.reject_key && !strcmp(key, X.reject_key)) {
            X.auth_refused++;
            r = oauth_error(403, "EGW00103", "유효하지 않은 AppKey입니다.");
        } else if (!a) {
            r = oauth_error(403, "EGW00103", "유효하지 않은 AppKey입니다.");
        } else if (a->token_issued && now - a->token_issued < ST_MIN) {
            X.tokens_refused++;
            r = oauth_error(403, "EGW00133", "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)");
        } else {
            a->token_issued = now;
            a->token_expires = now + X.token_ttl;
            snprintf(a->token, sizeof(a->token), "sim-token-%llu-%s", (unsigned long long)++X.token_seq, key);
            X.tokens_issued++;
            char exp[32];
            st_format_datetime(a->token_expires, exp, sizeof(exp), false);
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "access_token", a->token);
            cJSON_AddStringToObject(j, "access_token_token_expired", exp);
            cJSON_AddStringToObject(j, "token_type", "Bearer");
            cJSON_AddNumberToObject(j, "expires_in", (double)(X.token_ttl / ST_SEC));
            r = ex_jreply(200, j);
        }
    }
    cJSON_Delete(in);
    return r;
}

/* The key is the app key's (so two sessions on one app key share it: ALREADY IN USE); asking
 * again makes it new for approval_ttl. */
void ex_approval_issued(const char *key, st_time_t now)
{
    size_t i = 0;
    while (i < X.napprovals && strcmp(X.approvals[i].key, key) != 0) i++;
    if (i == X.napprovals) {
        if (X.napprovals == ST_ARRAY_SIZE(X.approvals)) return; /* keys past 32 never expire */
        snprintf(X.approvals[X.napprovals++].key, sizeof(X.approvals[0].key), "%s", key);
    }
    X.approvals[i].at = now;
}

bool ex_approval_expired(const char *key, st_time_t now)
{
    for (size_t i = 0; i < X.napprovals; i++)
        if (!strcmp(X.approvals[i].key, key)) return now - X.approvals[i].at >= X.approval_ttl;
    return false; /* a key it did not issue: the tests' own */
}

http_reply_t ex_approval(const char *body)
{
    cJSON *in = cJSON_Parse(body);
    const char *key = ex_json_str(in, "appkey", NULL), *secret = ex_json_str(in, "secretkey", NULL);
    http_reply_t r;
    if (!key || !*key || !secret || !*secret) {
        r = oauth_error(403, "EGW00103", "유효하지 않은 AppKey입니다. (appkey and secretkey are required)");
    } else if (X.reject_key && !strcmp(key, X.reject_key)) {
        X.auth_refused++;
        r = oauth_error(403, "EGW00103", "유효하지 않은 AppKey입니다.");
    } else {
        char k[40];
        uint64_t h = 1469598103934665603ull;
        for (const char *p = key; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
        snprintf(k, sizeof(k), "%08x-%04x-4%03x-8%03x-%012llx", (unsigned)(h >> 32), (unsigned)(h >> 16) & 0xffff,
                 (unsigned)h & 0xfff, (unsigned)(h >> 20) & 0xfff, (unsigned long long)(h & 0xffffffffffffull));
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "approval_key", k);
        r = ex_jreply(200, j);
        ex_approval_issued(k, st_clock_now(&X.clock));
    }
    cJSON_Delete(in);
    return r;
}

/* Token and rate checks common to the quotation endpoints: true when the call may proceed,
 * else false with the refusal in *r. */
static bool rest_gate(struct lws *wsi, http_reply_t *r)
{
    char auth[128] = "", key[64] = "";
    lws_hdr_copy(wsi, auth, sizeof(auth), WSI_TOKEN_HTTP_AUTHORIZATION);
    lws_hdr_custom_copy(wsi, key, sizeof(key), "appkey:", 7);
    st_time_t now = st_clock_now(&X.clock);
    X.rest_calls++;
    /* Injected faults, errors before timeouts when both are pending. */
    if (X.fault.rest_error > 0) {
        X.fault.rest_error--;
        X.fault.rest_errors++;
        *r = ex_kis_error(500, "EGW00201", "초당 거래건수를 초과하였습니다.");
        return false;
    }
    if (X.fault.rest_timeout > 0) {
        X.fault.rest_timeout--;
        X.fault.rest_timeouts++;
        *r = (http_reply_t){.status = 0};
        return false;
    }
    struct app *a = key[0] ? app_get(key, false) : NULL;
    const char *tok = strncmp(auth, "Bearer ", 7) == 0 ? auth + 7 : "";
    if (!a || !a->token[0] || strcmp(tok, a->token) != 0) {
        X.rest_token_refused++;
        *r = ex_kis_error(500, "EGW00121", "유효하지 않은 token 입니다.");
        return false;
    }
    if (now >= a->token_expires) {
        X.rest_token_refused++;
        *r = ex_kis_error(500, "EGW00123", "기간이 만료된 token 입니다.");
        return false;
    }
    /* The venue's limit per app key, as a sliding one-second window. */
    int limit = X.paper ? 2 : 20, in_sec = 0;
    for (uint64_t i = 0; i < a->ncalls && i < 64; i++) in_sec += a->calls[(a->ncalls - 1 - i) % 64] > now - ST_SEC;
    if (in_sec >= limit) {
        X.rest_rate_refused++;
        *r = ex_kis_error(500, "EGW00201", "초당 거래건수를 초과하였습니다.");
        return false;
    }
    a->calls[a->ncalls++ % 64] = now;
    if (in_sec + 1 > X.rest_max_per_second) X.rest_max_per_second = in_sec + 1;
    X.rest_ok++;
    return true;
}

static void num_field(cJSON *o, const char *name, double v)
{
    char b[48];
    snprintf(b, sizeof(b), "%.0f", v);
    cJSON_AddStringToObject(o, name, b);
}

static const char *sign_of(double change)
{
    return change > 0 ? "2" : change < 0 ? "5" : "3";
}

/* The change against the previous close: `vrss` (signed), prdy_vrss_sign, prdy_ctrt (%). */
/* A change against prev under the three names KIS gives it (difference, sign, rate in %). */
static void add_change_as(cJSON *o, const char *vrss, const char *sign, const char *ctrt, double price, double prev)
{
    num_field(o, vrss, price - prev);
    cJSON_AddStringToObject(o, sign, sign_of(price - prev));
    char rate[32];
    snprintf(rate, sizeof(rate), "%.2f", prev > 0 ? (price / prev - 1) * 100 : 0);
    cJSON_AddStringToObject(o, ctrt, rate);
}

static void add_change(cJSON *o, const char *vrss, double price, double prev)
{
    add_change_as(o, vrss, "prdy_vrss_sign", "prdy_ctrt", price, prev);
}

/* A success with one output (name2 NULL) or two. */
static http_reply_t envelope2(cJSON *output, const char *name, cJSON *output2, const char *name2, const char *tr_id)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "rt_cd", "0");
    cJSON_AddStringToObject(j, "msg_cd", "MCA00000");
    cJSON_AddStringToObject(j, "msg1", "정상처리 되었습니다.");
    cJSON_AddItemToObject(j, name, output);
    if (name2) cJSON_AddItemToObject(j, name2, output2);
    http_reply_t r = ex_jreply(200, j);
    r.tr_id = tr_id;
    return r;
}

static http_reply_t envelope(cJSON *output, const char *name, const char *tr_id)
{
    return envelope2(output, name, NULL, NULL, tr_id);
}

static const st_instrument_t *stock_arg(struct lws *wsi, const char *arg)
{
    char buf[64];
    const char *v = lws_get_urlarg_by_name(wsi, arg, buf, sizeof(buf));
    if (!v) return NULL;
    st_sym_t sym = st_symtab_find(&X.syms, v, strlen(v));
    return sym == ST_SYM_NONE ? NULL : st_universe_get(&X.uni, sym);
}

/* Every field protocols.md lists for the KIS quotation answers (all values are strings). What
 * the simulated market knows is filled from it; the rest gets a neutral value of its kind (a
 * flag "N", a date, a class code "00", a number "0"). */
static const char *const inquire_price_fields[] = {
    "iscd_stat_cls_code", "marg_rate", "rprs_mrkt_kor_name", "new_hgpr_lwpr_cls_code", "bstp_kor_isnm",
    "temp_stop_yn", "oprc_rang_cont_yn", "clpr_rang_cont_yn", "crdt_able_yn", "grmn_rate_cls_code", "elw_pblc_yn",
    "stck_prpr", "prdy_vrss", "prdy_vrss_sign", "prdy_ctrt", "acml_tr_pbmn", "acml_vol", "prdy_vrss_vol_rate",
    "stck_oprc", "stck_hgpr", "stck_lwpr", "stck_mxpr", "stck_llam", "stck_sdpr", "wghn_avrg_stck_prc",
    "hts_frgn_ehrt", "frgn_ntby_qty", "pgtr_ntby_qty", "pvt_scnd_dmrs_prc", "pvt_frst_dmrs_prc", "pvt_pont_val",
    "pvt_frst_dmsp_prc", "pvt_scnd_dmsp_prc", "dmrs_val", "dmsp_val", "cpfn", "rstc_wdth_prc", "stck_fcam",
    "stck_sspr", "aspr_unit", "hts_deal_qty_unit_val", "lstn_stcn", "hts_avls", "per", "pbr", "stac_month",
    "vol_tnrt", "eps", "bps", "d250_hgpr", "d250_hgpr_date", "d250_hgpr_vrss_prpr_rate", "d250_lwpr",
    "d250_lwpr_date", "d250_lwpr_vrss_prpr_rate", "stck_dryy_hgpr", "dryy_hgpr_vrss_prpr_rate", "dryy_hgpr_date",
    "stck_dryy_lwpr", "dryy_lwpr_vrss_prpr_rate", "dryy_lwpr_date", "w52_hgpr", "w52_hgpr_vrss_prpr_ctrt",
    "w52_hgpr_date", "w52_lwpr", "w52_lwpr_vrss_prpr_ctrt", "w52_lwpr_date", "whol_loan_rmnd_rate", "ssts_yn",
    "stck_shrn_iscd", "fcam_cnnm", "cpfn_cnnm", "apprch_rate", "frgn_hldn_qty", "vi_cls_code", "ovtm_vi_cls_code",
    "last_ssts_cntg_qty", "invt_caful_yn", "mrkt_warn_cls_code", "short_over_yn", "sltr_yn", "mang_issu_cls_code"};
static const char *const asking_output2_fields[] = {
    "antc_mkop_cls_code", "stck_prpr", "stck_oprc", "stck_hgpr", "stck_lwpr", "stck_sdpr", "antc_cnpr",
    "antc_cntg_vrss_sign", "antc_cntg_vrss", "antc_cntg_prdy_ctrt", "antc_vol", "stck_shrn_iscd", "vi_cls_code"};
static const char *const multprice_fields[] = {
    "kospi_kosdaq_cls_name", "mrkt_trtm_cls_name", "hour_cls_code", "inter_shrn_iscd", "inter_kor_isnm",
    "inter2_prpr", "inter2_prdy_vrss", "prdy_vrss_sign", "prdy_ctrt", "acml_vol", "inter2_oprc", "inter2_hgpr",
    "inter2_lwpr", "inter2_llam", "inter2_mxpr", "inter2_askp", "inter2_bidp", "seln_rsqn", "shnu_rsqn",
    "total_askp_rsqn", "total_bidp_rsqn", "acml_tr_pbmn", "inter2_prdy_clpr", "oprc_vrss_hgpr_rate",
    "intr_antc_cntg_vrss", "intr_antc_cntg_vrss_sign", "intr_antc_cntg_prdy_ctrt", "intr_antc_vol", "inter2_sdpr"};

static void fill_rest(cJSON *o, const char *const *names, size_t n)
{
    char today[16];
    time_t secs = (time_t)(st_clock_now(&X.clock) / ST_SEC + X.utc_offset);
    struct tm tm;
    strftime(today, sizeof(today), "%Y%m%d", gmtime_r(&secs, &tm));
    for (size_t i = 0; i < n; i++) {
        if (cJSON_GetObjectItem(o, names[i])) continue;
        const char *v = "0";
        size_t len = strlen(names[i]);
        if (len > 3 && strcmp(names[i] + len - 3, "_yn") == 0) v = "N";
        else if (strstr(names[i], "_date")) v = today;
        else if (strstr(names[i], "cls_code")) v = "00";
        cJSON_AddStringToObject(o, names[i], v);
    }
}

/* The daily price limits (±30 % on the tick grid). */
static void price_limits(double prev, double *up, double *down)
{
    double u = prev * 1.3, d = prev * 0.7;
    *up = floor(u / st_krx_tick_size(u)) * st_krx_tick_size(u);
    *down = ceil(d / st_krx_tick_size(d)) * st_krx_tick_size(d);
}

http_reply_t ex_inquire_price(struct lws *wsi)
{
    http_reply_t r;
    if (!rest_gate(wsi, &r)) return r;
    const st_instrument_t *ins = stock_arg(wsi, "FID_INPUT_ISCD=");
    if (!ins) return ex_kis_error(200, "OPSQ2002", "ERROR : INPUT_FIELD_NAME FID_INPUT_ISCD");
    st_tick_t t;
    st_simmkt_snapshot(X.mkt, ins->sym, st_clock_now(&X.clock), &t);
    const st_trade_t *q = &t.u.trade;
    cJSON *o = cJSON_CreateObject();
    num_field(o, "stck_prpr", q->price);
    add_change(o, "prdy_vrss", q->price, q->prev_close);
    num_field(o, "acml_tr_pbmn", q->cum_value);
    num_field(o, "acml_vol", q->cum_volume);
    num_field(o, "stck_oprc", q->open);
    num_field(o, "stck_hgpr", q->high);
    num_field(o, "stck_lwpr", q->low);
    double up, down;
    price_limits(q->prev_close, &up, &down);
    num_field(o, "stck_mxpr", up);
    num_field(o, "stck_llam", down);
    num_field(o, "stck_sdpr", q->prev_close);
    num_field(o, "aspr_unit", st_krx_tick_size(q->price));
    num_field(o, "wghn_avrg_stck_prc", q->cum_volume > 0 ? q->cum_value / q->cum_volume : q->price);
    cJSON_AddStringToObject(o, "stck_shrn_iscd", ins->code);
    cJSON_AddStringToObject(o, "temp_stop_yn", (t.flags & ST_TICK_HALTED) ? "Y" : "N");
    cJSON_AddStringToObject(o, "iscd_stat_cls_code", (t.flags & ST_TICK_HALTED) ? "58" : "55");
    cJSON_AddStringToObject(o, "rprs_mrkt_kor_name", ins->market == 1 ? "KOSDAQ" : "KOSPI");
    cJSON_AddStringToObject(o, "bstp_kor_isnm", X.uni.sectors[ins->sector]);
    cJSON_AddStringToObject(o, "hts_deal_qty_unit_val", "1");
    cJSON_AddStringToObject(o, "stck_fcam", "100");
    cJSON_AddStringToObject(o, "fcam_cnnm", "100");
    cJSON_AddStringToObject(o, "cpfn_cnnm", "0");
    fill_rest(o, inquire_price_fields, ST_ARRAY_SIZE(inquire_price_fields));
    return envelope(o, "output", "FHKST01010100");
}

http_reply_t ex_asking_price(struct lws *wsi)
{
    http_reply_t r;
    if (!rest_gate(wsi, &r)) return r;
    const st_instrument_t *ins = stock_arg(wsi, "FID_INPUT_ISCD=");
    if (!ins) return ex_kis_error(200, "OPSQ2002", "ERROR : INPUT_FIELD_NAME FID_INPUT_ISCD");
    st_time_t now = st_clock_now(&X.clock);
    st_simmkt_advance(X.mkt, ins->sym, now, NULL, NULL);
    st_tick_t b;
    st_simmkt_book(X.mkt, ins->sym, now, &b);
    cJSON *o = cJSON_CreateObject();
    char name[32];
    for (int i = 0; i < ST_BOOK_DEPTH; i++) {
        snprintf(name, sizeof(name), "askp%d", i + 1), num_field(o, name, b.u.book.ask[i]);
        snprintf(name, sizeof(name), "bidp%d", i + 1), num_field(o, name, b.u.book.bid[i]);
        snprintf(name, sizeof(name), "askp_rsqn%d", i + 1), num_field(o, name, b.u.book.ask_qty[i]);
        snprintf(name, sizeof(name), "bidp_rsqn%d", i + 1), num_field(o, name, b.u.book.bid_qty[i]);
    }
    num_field(o, "total_askp_rsqn", b.u.book.total_ask_qty);
    num_field(o, "total_bidp_rsqn", b.u.book.total_bid_qty);
    for (int i = 0; i < ST_BOOK_DEPTH; i++) { /* changes since the previous book: not kept */
        snprintf(name, sizeof(name), "askp_rsqn_icdc%d", i + 1), cJSON_AddStringToObject(o, name, "0");
        snprintf(name, sizeof(name), "bidp_rsqn_icdc%d", i + 1), cJSON_AddStringToObject(o, name, "0");
    }
    char hhmmss[16];
    time_t secs = (time_t)(now / ST_SEC + X.utc_offset);
    struct tm tm;
    strftime(hhmmss, sizeof(hhmmss), "%H%M%S", gmtime_r(&secs, &tm));
    cJSON_AddStringToObject(o, "aspr_acpt_hour", hhmmss);
    num_field(o, "ntby_aspr_rsqn", b.u.book.total_bid_qty - b.u.book.total_ask_qty);
    static const char *const rest1[] = {"total_askp_rsqn_icdc", "total_bidp_rsqn_icdc", "ovtm_total_askp_icdc",
                                        "ovtm_total_bidp_icdc", "ovtm_total_askp_rsqn", "ovtm_total_bidp_rsqn"};
    fill_rest(o, rest1, ST_ARRAY_SIZE(rest1));
    cJSON_AddStringToObject(o, "new_mkop_cls_code", "20"); /* the regular session */
    /* output2: the expected (auction) price, here the last trade's, and the day so far */
    st_tick_t t;
    st_simmkt_snapshot(X.mkt, ins->sym, now, &t);
    const st_trade_t *q = &t.u.trade;
    cJSON *o2 = cJSON_CreateObject();
    cJSON_AddStringToObject(o2, "antc_mkop_cls_code", "112");
    num_field(o2, "stck_prpr", q->price);
    num_field(o2, "stck_oprc", q->open);
    num_field(o2, "stck_hgpr", q->high);
    num_field(o2, "stck_lwpr", q->low);
    num_field(o2, "stck_sdpr", q->prev_close);
    num_field(o2, "antc_cnpr", q->price);
    add_change_as(o2, "antc_cntg_vrss", "antc_cntg_vrss_sign", "antc_cntg_prdy_ctrt", q->price, q->prev_close);
    cJSON_AddStringToObject(o2, "stck_shrn_iscd", ins->code);
    fill_rest(o2, asking_output2_fields, ST_ARRAY_SIZE(asking_output2_fields));
    return envelope2(o, "output1", o2, "output2", "FHKST01010200");
}

http_reply_t ex_multprice(struct lws *wsi)
{
    http_reply_t r;
    if (X.paper) return ex_kis_error(500, "EGW00002", "모의투자 미지원 서비스입니다.");
    if (!rest_gate(wsi, &r)) return r;
    cJSON *rows = cJSON_CreateArray();
    st_time_t now = st_clock_now(&X.clock);
    for (int i = 1; i <= 30; i++) {
        char arg[40];
        snprintf(arg, sizeof(arg), "FID_INPUT_ISCD_%d=", i);
        const st_instrument_t *ins = stock_arg(wsi, arg);
        if (!ins) continue;
        st_tick_t t;
        st_simmkt_snapshot(X.mkt, ins->sym, now, &t);
        const st_trade_t *q = &t.u.trade;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "inter_shrn_iscd", ins->code);
        cJSON_AddStringToObject(o, "inter_kor_isnm", ins->name);
        num_field(o, "inter2_prpr", q->price);
        add_change(o, "inter2_prdy_vrss", q->price, q->prev_close);
        num_field(o, "acml_vol", q->cum_volume);
        num_field(o, "inter2_oprc", q->open);
        num_field(o, "inter2_hgpr", q->high);
        num_field(o, "inter2_lwpr", q->low);
        num_field(o, "inter2_askp", q->best_ask);
        num_field(o, "inter2_bidp", q->best_bid);
        num_field(o, "acml_tr_pbmn", q->cum_value);
        num_field(o, "inter2_prdy_clpr", q->prev_close);
        num_field(o, "inter2_sdpr", q->prev_close);
        double up, down;
        price_limits(q->prev_close, &up, &down);
        num_field(o, "inter2_mxpr", up);
        num_field(o, "inter2_llam", down);
        cJSON_AddStringToObject(o, "kospi_kosdaq_cls_name", ins->market == 1 ? "코스닥" : "코스피");
        cJSON_AddStringToObject(o, "mrkt_trtm_cls_name", (t.flags & ST_TICK_HALTED) ? "거래정지" : "");
        cJSON_AddStringToObject(o, "hour_cls_code", "0");
        cJSON_AddStringToObject(o, "intr_antc_cntg_vrss_sign", "3");
        fill_rest(o, multprice_fields, ST_ARRAY_SIZE(multprice_fields));
        cJSON_AddItemToArray(rows, o);
    }
    return envelope(rows, "output", "FHKST11300006");
}
