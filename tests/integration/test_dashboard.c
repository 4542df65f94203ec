/* Issue 20.3: the dashboard tried as a person would. strata runs the simulated demo market
 * (from 08:59:30 at x10, so the gap strategy's opening signals come within seconds) with a
 * status token; Debian's chromium, driven through chromedriver (WebDriver over HTTP, here
 * with libcurl), loads http://127.0.0.1:PORT/, is refused without the token, is given it in
 * the page's form, waits for live frames, and checks that the registration grid shows the
 * symbols GET /symbols says hold tiers 1 and 2, and that signals appear. It saves a screenshot
 * (build/tests/dashboard.png, or $STRATA_DASHBOARD_PNG: scripts/screenshot.sh). */
#include "../test.h"

#include "core/res.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#define TOKEN "dash-test-token-7d1f"

static char *dir;

typedef struct {
    char *p;
    size_t n;
} buf_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    buf_t *b = ctx;
    b->p = realloc(b->p, b->n + size * nmemb + 1);
    memcpy(b->p + b->n, data, size * nmemb);
    b->n += size * nmemb;
    b->p[b->n] = 0;
    return size * nmemb;
}

/* An HTTP request with a JSON body (or none); the answer's JSON, NULL when there is none. */
static cJSON *http(const char *method, const char *url, const char *auth, cJSON *body)
{
    CURL *h = curl_easy_init();
    buf_t b = {0};
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    if (auth) hd = curl_slist_append(hd, auth);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    if (text) curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    free(text);
    cJSON_Delete(body);
    cJSON *out = rc == CURLE_OK && b.p ? cJSON_Parse(b.p) : NULL;
    free(b.p);
    return out;
}

static int driver_port;
static char session[128];

static cJSON *wd(const char *method, const char *path, cJSON *body)
{
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/session%s%s", driver_port, *session ? "/" : "", *session ? session : "");
    snprintf(url + strlen(url), sizeof(url) - strlen(url), "%s", path);
    return http(method, url, NULL, body);
}

/* Runs script in the page; its result's "value", to be freed with the returned root. */
static cJSON *run_js(const char *script, cJSON **root)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "script", script);
    cJSON_AddArrayToObject(b, "args");
    *root = wd("POST", "/execute/sync", b);
    return *root ? cJSON_GetObjectItem(*root, "value") : NULL;
}

static double js_number(const char *script)
{
    cJSON *root, *v = run_js(script, &root);
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    cJSON_Delete(root);
    return d;
}

static char *js_string(const char *script)
{
    cJSON *root, *v = run_js(script, &root);
    char *s = strdup(cJSON_IsString(v) ? v->valuestring : "");
    cJSON_Delete(root);
    return s;
}

static pid_t spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0); /* its children (chromium) go with it */
        if (!freopen(log, "w", stdout) || !freopen(log, "a", stderr)) _exit(127);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void nap(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The codes of the symbols that hold a registration, as GET /symbols says: sorted, unique. */
static char *held_by_api(int port)
{
    char *codes[512];
    size_t n = 0;
    for (int tier = 1; tier <= 2; tier++) {
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/symbols?tier=%d", port, tier);
        cJSON *j = http("GET", url, "Authorization: Bearer " TOKEN, NULL);
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "symbols"))
            if (cJSON_IsNumber(cJSON_GetObjectItem(e, "connection")) && n < 512)
                codes[n++] = strdup(cJSON_GetObjectItem(e, "code")->valuestring);
        cJSON_Delete(j);
    }
    qsort(codes, n, sizeof(char *), by_str);
    char *out = calloc(1, n * 16 + 1);
    for (size_t i = 0; i < n; i++)
        if (!i || strcmp(codes[i], codes[i - 1])) snprintf(out + strlen(out), 16, "%s%s", *out ? " " : "", codes[i]);
    for (size_t i = 0; i < n; i++) free(codes[i]);
    return out;
}

static void test_dashboard_in_a_browser(void **state)
{
    if (access("/usr/bin/chromedriver", X_OK) || access("/usr/bin/chromium", X_OK))
        fail_msg("chromium and chromedriver are needed (scripts/setup.sh installs them)");
    int port = st_test_free_port();
    driver_port = st_test_free_port();
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "runtime:\n  clock: {mode: simulated, start: \"2026-11-23 08:59:30\", stop: \"11:00\", speed: 10}\n"
             "  log: {file: %s/strata.log}\n  session_report: \"\"\n"
             "market:\n  universe: %s/config/universe.csv\n  indices: %s/config/indices.csv\n"
             "  watch_universe: background\n  watch: [{symbol: \"005930\", priority: critical, pinned: true}]\n"
             "feeds: [{name: sim, kind: sim, seed: 20261123}]\n"
             "strategies:\n  - {name: gap, kind: lua, path: %s/strategies/gap.lua, all_symbols: true}\n"
             "status: {port: %d, token_env: STRATA_TEST_DASH_TOKEN}\n",
             dir, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, port);
    char *cfg = st_test_write(dir, "dash.yaml", yaml), log[300], dlog[300];
    snprintf(log, sizeof(log), "%s/out.txt", dir);
    snprintf(dlog, sizeof(dlog), "%s/chromedriver.txt", dir);
    setenv("STRATA_TEST_DASH_TOKEN", TOKEN, 1);
    char *sargv[] = {STRATA_BIN, "run", "-c", cfg, NULL};
    pid_t strata = spawn(sargv, log);
    char dport[32];
    snprintf(dport, sizeof(dport), "--port=%d", driver_port);
    char *dargv[] = {"chromedriver", dport, NULL};
    pid_t driver = spawn(dargv, dlog);

    cJSON *caps = NULL, *root = NULL;
    for (int i = 0; i < 200 && !root; i++) { /* chromedriver up, then a headless session */
        nap(0.1);
        caps = cJSON_Parse("{\"capabilities\":{\"alwaysMatch\":{\"goog:chromeOptions\":{\"args\":[\"--headless=new\","
                           "\"--no-sandbox\",\"--disable-gpu\",\"--disable-dev-shm-usage\",\"--window-size=1400,1000\"]}}}}");
        root = wd("POST", "", caps);
    }
    assert_non_null(root);
    const cJSON *sid = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "value"), "sessionId");
    if (!cJSON_IsString(sid)) fail_msg("no session: %s", cJSON_PrintUnformatted(root));
    snprintf(session, sizeof(session), "%s", sid->valuestring);
    cJSON_Delete(root);

    /* the page, without the token in its storage: refused, and it asks for it */
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    for (int i = 0; i < 300; i++) { /* strata listening */
        if (waitpid(strata, NULL, WNOHANG) == strata) {
            char *out = NULL;
            st_file_read(log, &out, NULL);
            fail_msg("strata exited: %s", out ? out : "");
        }
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "url", url);
        cJSON_Delete(wd("POST", "/url", b));
        if (js_number("return document.getElementById('token') ? 1 : 0") == 1) break;
        nap(0.2);
    }
    double asked = 0;
    for (int i = 0; i < 100 && asked != 1; i++, nap(0.1))
        asked = js_number("return document.getElementById('token').className === 'ask' ? 1 : 0");
    assert_true(asked == 1);
    assert_true(js_number("return window.strataFrames") == 0); /* nothing without the token */
    /* typed into the form, as a person would */
    run_js("const i = document.getElementById('token-value'); i.value = '" TOKEN "';"
           "document.querySelector('#token button').click(); return 1;", &root);
    cJSON_Delete(root);
    double frames = 0;
    for (int i = 0; i < 300 && frames < 3; i++, nap(0.1)) frames = js_number("return window.strataFrames");
    assert_true(frames >= 3);
    char *stored = js_string("return sessionStorage.getItem('strata-token')");
    assert_string_equal(stored, TOKEN);
    free(stored);
    char *href = js_string("return location.href");
    assert_null(strstr(href, TOKEN)); /* never in a URL */
    free(href);

    /* signals appear as the market opens, and more follow */
    double sigs = 0;
    for (int i = 0; i < 600 && sigs < 1; i++, nap(0.1)) sigs = js_number("return document.querySelectorAll('[data-signal]').length");
    assert_true(sigs >= 1);
    double more = sigs;
    for (int i = 0; i < 600 && more <= sigs; i++, nap(0.1)) more = js_number("return document.querySelectorAll('[data-signal]').length");
    printf("# signals shown: %.0f, then %.0f\n", sigs, more);
    assert_true(more > sigs);
    /* the grid shows the symbols that hold registrations (the plan may move between the two
     * reads: a few tries) */
    char *grid = NULL, *api = NULL;
    bool same = false;
    for (int i = 0; i < 40 && !same; i++) {
        free(grid), free(api);
        nap(0.25);
        grid = js_string("return [...new Set([...document.querySelectorAll('#conns .cell[data-code]')]"
                         ".map(e => e.dataset.code))].join(' ')");
        api = held_by_api(port);
        char *v[512], *save = NULL;
        size_t n = 0;
        char *copy = strdup(grid);
        for (char *t = strtok_r(copy, " ", &save); t && n < 512; t = strtok_r(NULL, " ", &save)) v[n++] = t;
        qsort(v, n, sizeof(char *), by_str);
        char sorted[8192] = "";
        for (size_t k = 0; k < n; k++) snprintf(sorted + strlen(sorted), sizeof(sorted) - strlen(sorted), "%s%s", k ? " " : "", v[k]);
        same = !strcmp(sorted, api) && n > 0;
        free(copy);
    }
    printf("# grid: %s\n# api:  %s\n", grid, api);
    assert_true(same);
    assert_non_null(strstr(grid, "005930")); /* pinned critical: tier 1 */
    free(grid), free(api);

    nap(1.5); /* a few more frames for the price charts */

    root = wd("GET", "/screenshot", NULL);
    const cJSON *png = cJSON_GetObjectItem(root, "value");
    assert_true(cJSON_IsString(png));
    const char *where = getenv("STRATA_DASHBOARD_PNG");
    char path[512];
    snprintf(path, sizeof(path), "%s", where && *where ? where : "dashboard.png");
    char b64[600];
    snprintf(b64, sizeof(b64), "%s/shot.b64", dir);
    FILE *f = fopen(b64, "w");
    assert_non_null(f);
    fputs(png->valuestring, f);
    fclose(f);
    char cmd[1400];
    snprintf(cmd, sizeof(cmd), "base64 -d '%s' > '%s'", b64, path);
    assert_int_equal(system(cmd), 0);
    printf("# screenshot: %s\n", path);
    cJSON_Delete(root);

    cJSON_Delete(wd("DELETE", "", NULL));
    kill(-driver, SIGTERM);
    waitpid(driver, NULL, 0);
    kill(strata, SIGTERM);
    int status;
    assert_int_equal(waitpid(strata, &status, 0), strata);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(cfg);
}

static int setup(void **state)
{
    dir = st_test_tmpdir();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

static int teardown(void **state)
{
    curl_global_cleanup();
    int rc = st_test_rmtree(dir);
    free(dir);
    return rc;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dashboard_in_a_browser),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
