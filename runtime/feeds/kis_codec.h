/* KIS real-time data frames: `<enc>|<tr_id>|<count>|<payload>`, payload fields separated by
 * '^', several records simply concatenated (46 fields per H0STCNT0 trade record, 59 per
 * H0STASP0 orderbook record). See docs/protocols.md.
 *
 * Encoding is for the exchange simulator; decoding is for the KIS feed. Decoding is pure,
 * splits in place and allocates nothing: each record reaches a callback as a normalized tick
 * plus the code as it appears in the frame. Times: fields are the venue's local HHMMSS and
 * YYYYMMDD; utc_offset (seconds east of UTC, KST 32400) turns them into strata time. */
#ifndef ST_FEEDS_KIS_CODEC_H
#define ST_FEEDS_KIS_CODEC_H

#include "market/tick.h"

#define ST_KIS_TRADE_FIELDS 46
#define ST_KIS_BOOK_FIELDS  59

typedef enum { ST_KIS_TR_TRADE, ST_KIS_TR_BOOK, ST_KIS_TR_INDEX, ST_KIS_TR_OTHER } st_kis_tr_t;

typedef struct {
    bool encrypted;     /* first field '1' */
    st_kis_tr_t tr;
    const char *tr_id;  /* into the frame */
    size_t tr_id_len;
    int count;          /* records announced */
    const char *payload;
    size_t payload_len;
} st_kis_frame_t;

/* Splits the header. Returns 0; 1 when the frame is a JSON control message (starts with '{');
 * -EPROTO when it is malformed. */
int st_kis_frame_parse(const char *buf, size_t len, st_kis_frame_t *out);

typedef struct {
    const char *code; /* into the frame, not NUL-terminated */
    size_t code_len;
    st_tick_t tick;   /* sym, feed and recv_time are left for the caller */
} st_kis_record_t;

typedef int (*st_kis_record_cb)(const st_kis_record_t *r, void *ctx);

/* Decodes every record of a plain (unencrypted) H0STCNT0 or H0STASP0 frame, calling cb for
 * each (a non-zero return stops). H0STASP0 carries no date: its time of day is placed on the
 * local day of `now` (the receive time). Returns the number of records, or -EPROTO when the
 * payload does not hold count x fields values or a value is malformed (records before the bad
 * one have been delivered). */
int st_kis_decode(const st_kis_frame_t *f, int32_t utc_offset, st_time_t now, st_kis_record_cb cb,
                  void *ctx);

/* A JSON control message from the KIS WebSocket (a frame starting with '{'). */
typedef enum {
    ST_KIS_MSG_PINGPONG, /* keep-alive: echo the frame back as text */
    ST_KIS_MSG_ACK,      /* the answer to a register/unregister (see ack) */
    ST_KIS_MSG_OTHER     /* anything else (logged, ignored) */
} st_kis_msg_kind_t;

typedef struct {
    st_kis_msg_kind_t kind;
    char tr_id[16], tr_key[24];
    char rt_cd[4], msg_cd[16], msg1[96];
    int ack; /* st_ack_t of subs/ledger.h for ST_KIS_MSG_ACK */
} st_kis_msg_t;

/* Parses a control message. Returns 0, or -EPROTO when it is not a JSON object. The ack of an
 * answer: OPSP0000 SUBSCRIBE SUCCESS and OPSP0002 ALREADY IN SUBSCRIBE → subscribed; OPSP0001
 * UNSUBSCRIBE SUCCESS and OPSP0003 (not found) → unsubscribed; OPSP0008 → max over;
 * OPSP8991/8992 (invalid tr_id/tr_key) → invalid; any other non-zero rt_cd → error; an unknown
 * code with rt_cd "0" → unsubscribed when msg1 starts "UNSUB", else subscribed. */
int st_kis_msg_parse(const char *buf, size_t len, st_kis_msg_t *out);

/* A register/unregister request as a venue receives it (for the simulators). */
typedef struct {
    bool pingpong;     /* the client's echo of a PINGPONG, not a request */
    bool on;           /* tr_type "1" register, "2" unregister */
    st_kis_tr_t tr;    /* from tr_id; ST_KIS_TR_OTHER for an unknown one */
    char tr_id[16], tr_key[24], approval_key[64];
    const char *err_cd, *err_msg; /* a KIS JSON PARSING ERROR, or NULL */
} st_kis_request_t;

/* Parses a request. err_cd is NULL when it is well formed, else err_cd/err_msg name the KIS
 * error (OPSP9999 invalid json, OPSP9998 header, OPSP9996 appkey, OPSP9991 input, OPSP8997
 * tr_type, OPSP9990 tr_key). */
void st_kis_request_parse(const char *buf, size_t len, st_kis_request_t *out);

#endif
