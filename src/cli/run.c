/* `weir run` and `weir validate`: a spec is loaded and checked; `run`
 * builds the pipeline, runs it on a thread of its own, and keeps this
 * thread's libuv loop for SIGINT and the dashboard. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cli/cli.h"
#include "cli/http.h"
#include "cli/monitor.h"
#include "cli/ops.h"
#include "cli/spec.h"

typedef struct run_args {
  const char *spec;
  const char **sets;
  size_t nsets;
  const char *dashboard;
  double linger;
  int resume;
} run_args;

/* Parses the arguments common to run and validate; 0 or an exit code. */
static int parse_args(int argc, char **argv, run_args *a, int allow_run_opts, const char *cmd) {
  memset(a, 0, sizeof *a);
  a->sets = calloc((size_t)argc + 1, sizeof *a->sets);
  if (!a->sets) return EXIT_RUN_FAILED;
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    const char *val = NULL;
    if (!strcmp(arg, "--set") || !strcmp(arg, "-s")) {
      if (i + 1 >= argc) goto missing;
      val = argv[++i];
    } else if (!strncmp(arg, "--set=", 6)) {
      val = arg + 6;
    }
    if (val) {
      const char *eq = strchr(val, '=');
      if (!eq || eq == val) {
        fprintf(stderr, "weir %s: --set %s: expected NAME=VALUE or OP.OPTION=VALUE\n", cmd, val);
        return EXIT_BAD_SPEC;
      }
      a->sets[a->nsets++] = val;
      continue;
    }
    if (allow_run_opts && !strcmp(arg, "--resume")) {
      a->resume = 1;
    } else if (allow_run_opts && (!strcmp(arg, "--dashboard") || !strncmp(arg, "--dashboard=", 12))) {
      if (arg[11] == '=') a->dashboard = arg + 12;
      else if (i + 1 >= argc) goto missing;
      else a->dashboard = argv[++i];
    } else if (allow_run_opts &&
               (!strcmp(arg, "--dashboard-linger") || !strncmp(arg, "--dashboard-linger=", 19))) {
      const char *v;
      if (arg[18] == '=') v = arg + 19;
      else if (i + 1 >= argc) goto missing;
      else v = argv[++i];
      char *end;
      a->linger = strtod(v, &end);
      if (end == v || *end || a->linger < 0) {
        fprintf(stderr, "weir %s: --dashboard-linger %s: expected seconds (a number >= 0)\n", cmd, v);
        return EXIT_BAD_SPEC;
      }
    } else if (arg[0] == '-' && arg[1]) {
      fprintf(stderr, "weir %s: unknown option '%s' (see weir %s --help)\n", cmd, arg, cmd);
      return EXIT_BAD_SPEC;
    } else if (!a->spec) {
      a->spec = arg;
    } else {
      fprintf(stderr, "weir %s: one spec file only ('%s' and '%s')\n", cmd, a->spec, arg);
      return EXIT_BAD_SPEC;
    }
  }
  if (!a->spec) {
    fprintf(stderr, "weir %s: no spec file (usage: weir %s SPEC ...; see --help)\n", cmd, cmd);
    return EXIT_BAD_SPEC;
  }
  if (a->linger > 0 && !a->dashboard) {
    fprintf(stderr, "weir %s: --dashboard-linger needs --dashboard\n", cmd);
    return EXIT_BAD_SPEC;
  }
  return 0;
missing:
  fprintf(stderr, "weir %s: %s needs a value\n", cmd, argv[argc - 1]);
  return EXIT_BAD_SPEC;
}

static int load(const run_args *a, spec *s, weir_op_kinds **kinds) {
  *kinds = cli_kinds();
  if (!*kinds) return EXIT_RUN_FAILED;
  spec_sets sets = {a->sets, a->nsets};
  if (spec_load(s, a->spec, *kinds, &sets, a->resume) != 0) {
    for (size_t i = 0; i < s->nerrors; i++) fprintf(stderr, "%s\n", s->errors[i]);
    fprintf(stderr, "weir: %zu error%s in %s\n", s->nerrors, s->nerrors == 1 ? "" : "s", a->spec);
    return EXIT_BAD_SPEC;
  }
  return 0;
}

int cmd_validate(int argc, char **argv) {
  run_args a;
  int rc = parse_args(argc, argv, &a, 0, "validate");
  if (rc) {
    free(a.sets);
    return rc;
  }
  spec s;
  weir_op_kinds *kinds = NULL;
  rc = load(&a, &s, &kinds);
  if (!rc) {
    int sources = 0, sinks = 0;
    for (size_t i = 0; i < s.nops; i++) {
      sources += s.ops[i].kind->role == WEIR_KIND_SOURCE;
      sinks += s.ops[i].kind->role == WEIR_KIND_SINK;
    }
    printf("%s: valid: %zu operators (%d sources, %d writers)\n", a.spec, s.nops, sources, sinks);
  }
  spec_free(&s);
  weir_op_kinds_destroy(kinds);
  free(a.sets);
  return rc;
}

/* ---- running ---------------------------------------------------------- */

typedef struct runner {
  uv_loop_t     loop;
  uv_async_t    done;
  uv_signal_t   sigint;
  uv_timer_t    linger;
  uv_timer_t    sampler;       /* history for the dashboard, every second */
  uv_async_t    tick;          /* the pipeline's control tick, to this loop */
  http_server  *http;
  weir_pipeline *p;
  weir_op      *out;
  monitor       mon;
  int           rc;            /* weir_pipeline_run's result */
  int           interrupts;    /* SIGINTs seen */
  int           finished;
  double        linger_s;
} runner;

static void run_thread(void *arg) {
  runner *r = arg;
  r->rc = weir_pipeline_run(r->p, r->out);
  uv_async_send(&r->done);
}

static void close_all(runner *r) {
  if (r->http) {
    http_stop(r->http);
    r->http = NULL;
  }
  if (!uv_is_closing((uv_handle_t *)&r->sigint)) uv_close((uv_handle_t *)&r->sigint, NULL);
  if (!uv_is_closing((uv_handle_t *)&r->done)) uv_close((uv_handle_t *)&r->done, NULL);
  if (!uv_is_closing((uv_handle_t *)&r->linger)) uv_close((uv_handle_t *)&r->linger, NULL);
  if (!uv_is_closing((uv_handle_t *)&r->sampler)) uv_close((uv_handle_t *)&r->sampler, NULL);
  if (!uv_is_closing((uv_handle_t *)&r->tick)) uv_close((uv_handle_t *)&r->tick, NULL);
}

/* The scheduler's thread, once per control tick: the snapshot is taken on
 * this loop's thread, so the tick costs the scheduler one wake-up. The
 * last tick comes before weir_pipeline_run returns, so before `done`. */
static void on_pipeline_tick(void *user) {
  runner *r = user;
  uv_async_send(&r->tick);
}

static void on_tick(uv_async_t *h) {
  runner *r = h->data;
  if (r->http && !r->finished) http_refresh(r->http, 0);
}

static void on_linger_end(uv_timer_t *t) { close_all(t->data); }

static void on_sample(uv_timer_t *t) {
  runner *r = t->data;
  monitor_sample(&r->mon);
}

static void on_done(uv_async_t *h) {
  runner *r = h->data;
  if (r->finished) return;
  r->finished = 1;
  int state = r->rc == WEIR_OK ? RUN_DONE
              : (r->rc == WEIR_ECANCELED && r->interrupts) ? RUN_CANCELLED : RUN_FAILED;
  monitor_set_state(&r->mon, state, r->rc == WEIR_OK ? NULL : weir_pipeline_errmsg(r->p));
  uv_timer_stop(&r->sampler);
  monitor_sample(&r->mon); /* the final counters */
  http_refresh(r->http, 1); /* and the final state, for the last requests */
  if (r->http && r->linger_s > 0 && !r->interrupts) {
    fprintf(stderr, "weir: run ended; the dashboard stays up for %g s (Ctrl-C to stop)\n",
            r->linger_s);
    uv_timer_start(&r->linger, on_linger_end, (uint64_t)(r->linger_s * 1000), 0);
  } else {
    close_all(r);
  }
}

static void on_sigint(uv_signal_t *h, int signum) {
  (void)signum;
  runner *r = h->data;
  if (r->finished) { /* lingering: stop serving */
    close_all(r);
    return;
  }
  if (++r->interrupts == 1) {
    static const char msg[] = "\nweir: cancelling (Ctrl-C again to exit at once)\n";
    if (write(2, msg, sizeof msg - 1) < 0) { /* nothing better to do */ }
    weir_pipeline_cancel(r->p);
  } else {
    static const char msg[] = "\nweir: exiting at once\n";
    if (write(2, msg, sizeof msg - 1) < 0) { /* nothing better to do */ }
    _exit(EXIT_CANCELLED);
  }
}

/* The op the run drives: output:, else the only op nothing reads from,
 * else NULL (every op without consumers is a sink). */
static weir_op *driven(const spec *s) {
  if (s->output >= 0) return s->ops[s->output].op;
  int found = -1, count = 0;
  for (size_t i = 0; i < s->nops; i++) {
    int consumed = 0;
    for (size_t j = 0; j < s->nops && !consumed; j++)
      for (size_t k = 0; k < s->ops[j].ninputs; k++) consumed |= s->ops[j].inputs[k] == (int)i;
    if (!consumed) {
      found = (int)i;
      count++;
    }
  }
  return count == 1 ? s->ops[found].op : NULL;
}

int cmd_run(int argc, char **argv) {
  run_args a;
  int rc = parse_args(argc, argv, &a, 1, "run");
  if (rc) {
    free(a.sets);
    return rc;
  }
  spec s;
  weir_op_kinds *kinds = NULL;
  rc = load(&a, &s, &kinds);
  if (rc) {
    spec_free(&s);
    weir_op_kinds_destroy(kinds);
    free(a.sets);
    return rc;
  }
  runner *r = calloc(1, sizeof *r);
  if (!r) return EXIT_RUN_FAILED;
  monitor_init(&r->mon, &s);
  /* Without a dashboard the library talks to stderr itself: progress
   * redrawn on a terminal, its summary table, messages by log_level. With
   * one, its log goes through monitor_log, which keeps the scheduler's
   * pool changes (logged at DEBUG) for the page and passes to stderr what
   * the spec asked for and the progress lines; the summary is then
   * printed here after the run. */
  int summary = 0;
  s.popts.log_level = s.log_level;
  if (a.dashboard) {
    s.popts.log_fn = monitor_log;
    s.popts.log_user = &r->mon;
    s.popts.log_level = WEIR_LOG_DEBUG;
    summary = s.popts.summary;
    s.popts.summary = 0;
  }
  r->linger_s = a.linger;
  char err[2048];
  rc = spec_build(&s, &r->p, err, sizeof err);
  if (rc != WEIR_OK) {
    fprintf(stderr, "%s\n", err);
    int code = rc == WEIR_EINVAL ? EXIT_BAD_SPEC : EXIT_RUN_FAILED;
    cli_tokenizers_release(); /* spec_build destroyed the pipeline */
    monitor_destroy(&r->mon);
    free(r);
    spec_free(&s);
    weir_op_kinds_destroy(kinds);
    free(a.sets);
    return code;
  }
  r->mon.p = r->p;
  r->out = driven(&s);
  uv_loop_init(&r->loop);
  uv_async_init(&r->loop, &r->done, on_done);
  r->done.data = r;
  uv_signal_init(&r->loop, &r->sigint);
  r->sigint.data = r;
  uv_signal_start(&r->sigint, on_sigint, SIGINT);
  uv_timer_init(&r->loop, &r->linger);
  r->linger.data = r;
  uv_timer_init(&r->loop, &r->sampler);
  r->sampler.data = r;
  uv_async_init(&r->loop, &r->tick, on_tick);
  r->tick.data = r;
  int exit_code = EXIT_OK;
  if (a.dashboard) {
    r->http = http_start(&r->loop, a.dashboard, &r->mon, err, sizeof err);
    if (!r->http) {
      fprintf(stderr, "weir run: %s\n", err);
      close_all(r);
      uv_run(&r->loop, UV_RUN_DEFAULT);
      exit_code = EXIT_BAD_SPEC;
      goto out;
    }
    const char *colon = strrchr(a.dashboard, ':');
    char host[256] = "127.0.0.1";
    if (colon && colon > a.dashboard) snprintf(host, sizeof host, "%.*s", (int)(colon - a.dashboard), a.dashboard);
    fprintf(stderr, "weir: dashboard at http://%s:%d/\n", host, http_port(r->http));
    fflush(stderr);
    uv_timer_start(&r->sampler, on_sample, 0, 1000);
    weir_pipeline_set_tick_fn(r->p, on_pipeline_tick, r);
  }
  monitor_set_state(&r->mon, RUN_RUNNING, NULL);
  uv_thread_t th;
  if (uv_thread_create(&th, run_thread, r) != 0) {
    fprintf(stderr, "weir run: cannot start a thread\n");
    close_all(r);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    exit_code = EXIT_RUN_FAILED;
    goto out;
  }
  uv_run(&r->loop, UV_RUN_DEFAULT);
  uv_thread_join(&th);
  char *table = NULL;
  if (summary && weir_pipeline_stats_table(r->p, &table) == WEIR_OK && table) {
    size_t tl = strlen(table);
    fprintf(stderr, "%s%s", table, tl && table[tl - 1] == '\n' ? "" : "\n");
  }
  free(table);
  if (r->rc == WEIR_OK) {
    exit_code = EXIT_OK;
  } else if (r->rc == WEIR_ECANCELED && r->interrupts) {
    fprintf(stderr, "weir: cancelled\n");
    exit_code = EXIT_CANCELLED;
  } else {
    fprintf(stderr, "weir: run failed: %s\n", weir_pipeline_errmsg(r->p));
    exit_code = EXIT_RUN_FAILED;
  }
out:
  uv_loop_close(&r->loop);
  weir_pipeline_destroy(r->p);
  cli_tokenizers_release(); /* borrowed by the pipeline's text operators */
  monitor_destroy(&r->mon);
  free(r);
  spec_free(&s);
  weir_op_kinds_destroy(kinds);
  free(a.sets);
  return exit_code;
}
