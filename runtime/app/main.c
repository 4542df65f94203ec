/* strata: the command line. */
#include "backtest.h"
#include "record_cmd.h"
#include "runtime.h"
#include "status_cmd.h"
#include "core/log.h"
#include "core/res.h"
#include "core/timefmt.h"
#include "version.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_main[] =
    "usage: strata <command> [options]\n"
    "\n"
    "commands:\n"
    "  run      run the runtime (default config: the embedded simulated-market demo)\n"
    "  check    validate a config and list every error as file:line:column\n"
    "  status   show the status of a running strata (its GET /status)\n"
    "  record   inspect, export or import a recording (strata record --help)\n"
    "  backtest replay recordings through strategies and judge their signals\n"
    "  version  print the version\n"
    "\n"
    "Run 'strata <command> --help' for a command's options.\n";

static const char usage_run[] =
    "usage: strata run [-c FILE] [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
    "\n"
    "Runs the runtime on one event loop until SIGINT/SIGTERM (graceful stop, exit 0) or until\n"
    "the simulated clock reaches runtime.clock.stop. SIGHUP re-reads the config; an invalid\n"
    "config is reported and the running one is kept.\n"
    "\n"
    "  -c, --config FILE  the YAML config (default: " ST_DEMO_CONFIG ", the built-in demo:\n"
    "                     a simulated KRX day, 08:50-15:30, in about one minute)\n"
    "  --from DAY         a simulated clock: start on DAY at runtime.clock.start's time of day\n"
    "  --to DAY           ... and run through DAY (to runtime.clock.stop, or its end): days\n"
    "                     roll over as in a long run (a session report per trading day)\n"
    "  -h, --help         this help\n";

static const char usage_check[] =
    "usage: strata check [-c FILE]\n"
    "\n"
    "Validates a config and what it refers to (universe files, strategy paths) and prints every\n"
    "problem as file:line:column: message. Exits 0 when valid, 1 otherwise.\n"
    "\n"
    "  -c, --config FILE  the YAML config (default: " ST_DEMO_CONFIG ")\n"
    "  -h, --help         this help\n";

static const char usage_status[] =
    "usage: strata status [-c FILE | -u URL] [--symbols [--tier N] [--strategy NAME] [--find TEXT]]\n"
    "                     [--symbol CODE]\n"
    "\n"
    "Asks a running strata for its status (GET /status) and prints the status block, the tiers,\n"
    "the WebSocket connections and the strategies. Exits 1 when nothing answers.\n"
    "\n"
    "  -c, --config FILE  find it where this config's status section says (default: " ST_DEMO_CONFIG ");\n"
    "                     the bearer token comes from the variable status.token_env names\n"
    "  -u, --url URL      ask this endpoint instead (http://127.0.0.1:8787)\n"
    "  --symbols          a row per symbol instead (GET /symbols): tier, connection, priority,\n"
    "                     score, since, last move, price, age, ticks a minute, poll interval;\n"
    "                     those that hold a tier, are asked for or are excluded, unless --tier\n"
    "  --tier N           only tier N (0: none, 1, 2, 3)\n"
    "  --strategy NAME    only symbols NAME asks for (a strategy, or config)\n"
    "  --find TEXT        only symbols with TEXT in their code or name\n"
    "  --symbol CODE      one symbol and its recent history (GET /symbols/CODE)\n"
    "  -h, --help         this help\n";

static int cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"url", required_argument, NULL, 'u'},
                                         {"symbols", no_argument, NULL, 'S'},
                                         {"tier", required_argument, NULL, 'T'},
                                         {"strategy", required_argument, NULL, 'G'},
                                         {"find", required_argument, NULL, 'F'},
                                         {"symbol", required_argument, NULL, 'Y'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    const char *config = ST_DEMO_CONFIG, *url = NULL;
    st_status_query_t q = {.tier = -1};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:u:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'u': url = optarg; break;
        case 'S': q.symbols = true; break;
        case 'G': q.strategy = optarg, q.symbols = true; break;
        case 'F': q.find = optarg, q.symbols = true; break;
        case 'Y': q.symbol = optarg; break;
        case 'T':
            if (strlen(optarg) != 1 || optarg[0] < '0' || optarg[0] > '3') {
                fprintf(stderr, "strata status: --tier %s: expected 0 (none), 1, 2 or 3\n", optarg);
                return 2;
            }
            q.tier = optarg[0] - '0', q.symbols = true;
            break;
        case 'h': fputs(usage_status, stdout); return 0;
        default: fputs(usage_status, stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "strata: unexpected argument '%s'\n\n%s", argv[optind], usage_status);
        return 2;
    }
    return st_cmd_status(config, url, &q);
}

/* Parses -c/--config and -h/--help. Returns 0 to go on, or the exit code. */
/* -c FILE and -h; and --from/--to DAY where days is not NULL (strata run). */
static int parse_opts(int argc, char **argv, const char *usage, const char **config, st_runtime_opts_t *days)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
                                         {"from", required_argument, NULL, 'F'}, {"to", required_argument, NULL, 'T'},
                                         {0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': *config = optarg; break;
        case 'F':
        case 'T':
            if (!days) {
                fprintf(stderr, "strata: unknown option --%s\n\n%s", c == 'F' ? "from" : "to", usage);
                return 2;
            }
            *(c == 'F' ? &days->from : &days->to) = optarg;
            break;
        case 'h': fputs(usage, stdout); return -1;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "strata: unexpected argument '%s'\n\n%s", argv[optind], usage);
        return 2;
    }
    return 0;
}

static void print_diags(const st_diags_t *d)
{
    for (size_t i = 0; i < d->n; i++) {
        char buf[1400];
        st_diag_format(&d->items[i], buf, sizeof(buf));
        fprintf(stderr, "%s\n", buf);
    }
}

/* Compiles every Lua strategy and loads every plugin, as a reload's first phase does (nothing
 * is started): each failure is a diagnostic at the strategy's entry, carrying the strategy
 * file's own file:line. */
static void check_warn(void *ctx, const char *msg)
{
    fprintf(stderr, "warning: %s\n", msg);
}

static void check_strategies(const st_config_t *cfg, st_diags_t *d)
{
    st_strats_env_t env = {.warn = check_warn};
    st_strats_t *h = st_strats_create(&env);
    st_strats_stage(h, cfg, d);
    st_strats_destroy(h);
}

static int cmd_check(int argc, char **argv)
{
    const char *config = ST_DEMO_CONFIG;
    int rc = parse_opts(argc, argv, usage_check, &config, NULL);
    if (rc) return rc < 0 ? 0 : rc;
    st_symtab_t syms;
    st_symtab_init(&syms);
    st_diags_t d;
    st_diags_init(&d);
    st_world_t *w = st_world_build(config, &syms, &d);
    if (!w) {
        print_diags(&d);
        fprintf(stderr, "%s: %zu error%s\n", config, d.n, d.n == 1 ? "" : "s");
        st_diags_free(&d);
        st_symtab_free(&syms);
        return 1;
    }
    const st_config_t *cfg = w->cfg;
    check_strategies(cfg, &d);
    if (d.n) {
        print_diags(&d);
        fprintf(stderr, "%s: %zu error%s\n", config, d.n, d.n == 1 ? "" : "s");
        st_world_free(w);
        st_diags_free(&d);
        st_symtab_free(&syms);
        return 1;
    }
    printf("%s: ok (%zu symbols, %zu indices, %zu feeds, %zu time slots, %zu strategies, "
           "WebSocket budget %lld)\n",
           config, w->universe.nstocks, w->universe.n - w->universe.nstocks, cfg->feeds.n,
           cfg->schedule.n, cfg->strategies.n, (long long)st_config_ws_budget(cfg));
    st_world_free(w);
    st_diags_free(&d);
    st_symtab_free(&syms);
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    const char *config = ST_DEMO_CONFIG;
    st_runtime_opts_t days = {0};
    int rc = parse_opts(argc, argv, usage_run, &config, &days);
    if (rc) return rc < 0 ? 0 : rc;
    st_runtime_t rt;
    if (st_runtime_open(&rt, config, stdout, &days)) return 1;
    rc = st_runtime_run(&rt);
    st_runtime_free(&rt);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0) return cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0) return cmd_status(argc - 1, argv + 1);
    if (strcmp(cmd, "record") == 0) return st_record_cmd(argc - 1, argv + 1);
    if (strcmp(cmd, "backtest") == 0) return st_backtest_cmd(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("strata %s\n", STRATA_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    fprintf(stderr, "strata: unknown command '%s'\n\n%s", cmd, usage_main);
    return 2;
}
