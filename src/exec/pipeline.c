/* Pipeline objects and graph building: creation, the operator constructors
 * of API.md section 3, and destruction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/redact.h"
#include "exec/dist_internal.h"
#include "exec/exec_internal.h"
#include "core/block_internal.h"
#include "exec/budget.h"
#include "exec/gpu_backend.h"
#include "weir/error.h"

static size_t default_budget(void) {
  long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGE_SIZE);
  size_t phys = (pages > 0 && psize > 0) ? (size_t)pages * (size_t)psize
                                         : ((size_t)4 << 30);
  size_t b = phys / WEIR__BUDGET_DEFAULT_DEN, cap = WEIR__BUDGET_DEFAULT_CAP;
  return b > cap ? cap : b;
}

/* A sixteenth of the budget leaves room for the blocks queued between
 * operators and those in the workers' hands; the floor keeps per-block
 * overhead small under tiny budgets, the cap (Ray Data's default
 * target_max_block_size) keeps blocks streaming under big ones. */
static size_t default_block_bytes(size_t budget) { return weir__budget_block_bytes(budget); }

size_t weir__pipeline_budget(const weir_pipeline *p) { return p->budget; }

size_t weir_pipeline_block_bytes(const weir_pipeline *p) {
  return p ? p->block_bytes : 0;
}

int weir_pipeline_create(weir_pipeline **out, const weir_pipeline_options *opts) {
  if (!out)
    return weir__set_last_error(WEIR_EINVAL, "weir_pipeline_create: NULL out (where the "
                                "pipeline goes)");
  *out = NULL;
  /* No pipeline yet to keep the message on: it is the thread's last error
   * (weir_last_errmsg()). */
  int dist = 0;
  int drc = weir__dist_setup(opts && opts->version == WEIR_PIPELINE_OPTIONS_VERSION
                                 ? opts->dist : WEIR_DIST_DEFAULT, &dist);
  if (drc != WEIR_OK)
    return drc;
  if (opts) {
    if (opts->version != WEIR_PIPELINE_OPTIONS_VERSION)
      return weir__set_last_error(WEIR_EINVAL,
                                  "weir_pipeline_create: unknown options version %u (this "
                                  "library knows %d: start from WEIR_PIPELINE_OPTIONS_INIT)",
                                  opts->version, WEIR_PIPELINE_OPTIONS_VERSION);
    /* The same mistakes operator options refuse. */
    if (opts->num_cpus < 0)
      return weir__set_last_error(WEIR_EINVAL, "weir_pipeline_create: num_cpus %d is negative "
                                  "(0 = all cores)", opts->num_cpus);
    if (opts->num_gpus < 0)
      return weir__set_last_error(WEIR_EINVAL, "weir_pipeline_create: num_gpus %d is negative "
                                  "(0 = all visible devices)", opts->num_gpus);
    if (opts->log_level < WEIR_LOG_ERROR || opts->log_level > WEIR_LOG_DEBUG)
      return weir__set_last_error(WEIR_EINVAL, "weir_pipeline_create: log_level %d is not a "
                                  "WEIR_LOG_* level (%d..%d)", opts->log_level,
                                  WEIR_LOG_ERROR, WEIR_LOG_DEBUG);
    if (opts->stall_seconds != opts->stall_seconds)
      return weir__set_last_error(WEIR_EINVAL, "weir_pipeline_create: stall_seconds is NaN");
    if (!(opts->progress_interval >= 0))
      return weir__set_last_error(WEIR_EINVAL, "weir_pipeline_create: progress_interval %g "
                                  "is negative (0 = 5 s)", opts->progress_interval);
  }
  weir_pipeline *p = calloc(1, sizeof *p);
  if (!p)
    return weir__set_last_error(WEIR_ENOMEM, "weir_pipeline_create: out of memory");
  weir_pipeline_options def = WEIR_PIPELINE_OPTIONS_INIT;
  p->opts = opts ? *opts : def;
  p->dist = dist;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  p->num_cpus = p->opts.num_cpus > 0 ? p->opts.num_cpus : (ncpu > 0 ? (int)ncpu : 1);
  p->budget = p->opts.memory_budget ? p->opts.memory_budget : default_budget();
  p->block_bytes = p->opts.target_block_bytes ? p->opts.target_block_bytes
                                              : default_block_bytes(p->budget);
  if (p->opts.stall_seconds == 0)
    p->opts.stall_seconds = 30;
  if (p->opts.progress_interval <= 0)
    p->opts.progress_interval = 5;
  if (p->opts.queue_max_blocks == 0)
    p->opts.queue_max_blocks = 64;
  if (p->opts.log_level == 0)
    p->opts.log_level = WEIR_LOG_WARN;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv_budget, NULL);
  *out = p;
  return WEIR_OK;
}

void weir__op_drain(weir_op *op) {
  /* Its workers are gone and nothing waits on the queue: its nodes go
   * directly, without p->mu (weir__dequeue is for a run, under it). */
  for (weir__qnode *n = op->q.head, *next; n; n = next) {
    next = n->next;
    weir_block_unref(&n->b);
    free(n);
  }
  op->q.head = op->q.tail = NULL;
  op->q.blocks = op->q.bytes = 0;
  free(op->skip_tasks);
  op->skip_tasks = NULL;
  for (size_t i = 0; i < op->nacc; i++)
    weir_block_unref(&op->acc[i]);
  free(op->acc);
  op->acc = NULL;
  op->acc_cap = 0;
  weir__spill_free(&op->acc_spill);
  for (int i = 0; i < op->nheld_spill; i++)
    weir__spill_free(&op->held_spill[i]);
  while (op->calls) {
    weir__call *c = op->calls;
    op->calls = c->next;
    while (c->held_head) {
      weir__qnode *n = c->held_head;
      c->held_head = n->next;
      weir_block_unref(&n->b);
      free(n);
    }
    weir__spill_free(&c->spill);
    free(c);
  }
  op->nacc = 0;
}

void weir__op_free(weir_op *op) {
  if (!op)
    return;
  weir__pool_join(op, 1);
  weir__op_drain(op);
  if (op->arrow && op->arrow->release)
    op->arrow->release(op->arrow);
  free(op->arrow);
  weir__op_resources_free(op);
  pthread_cond_destroy(&op->cv_work);
  pthread_cond_destroy(&op->q.cv_space);
  free(op->ins);
  free(op->outs);
  for (size_t i = 0; i < op->ncounters; i++)
    free(op->counters[i].name);
  free(op->counters);
  free(op->name);
  if (op->cleanup)
    op->cleanup(op->cleanup_arg);
  free(op);
}

void weir__op_set_finished(weir_op *op, void (*fn)(void *, weir_op *), void *arg) {
  op->finished_fn = fn;
  op->finished_arg = arg;
}

void weir__op_set_run_end(weir_op *op, void (*fn)(void *, weir_op *), void *arg) {
  op->run_end = fn;
  op->run_end_arg = arg;
}

void weir__op_rows_of(weir_op *src, weir_op *parser) {
  if (src && parser)
    src->rows_of = parser;
}

void weir__op_set_per_block(weir_op *op, int per_block) {
  if (op)
    op->per_block = per_block;
}

void weir__op_set_describe(weir_op *op, int (*fn)(void *, size_t, char *, size_t), void *arg) {
  op->describe = fn;
  op->describe_arg = arg;
}

void weir__op_set_run_begin(weir_op *op, int (*fn)(void *, weir_op *, char *, size_t),
                            void *arg) {
  op->run_begin = fn;
  op->run_begin_arg = arg;
}

/* The rule a resumed writer follows (weir/io.h): an operator may sit
 * between the read tasks and the writer only when each block it emits
 * holds rows of the one block it was given. An operator pinned to one
 * worker is taken to keep state across blocks (a deterministic stateful
 * operator needs exactly one: with several, which blocks share a state
 * would vary from run to run), as is one with a finish, which emits after
 * seeing everything. Built-in operators say which they are. */
int weir__op_mixes_tasks(const weir_op *op, char *why, size_t n) {
  const char *r = NULL;
  switch (op->kind) {
  case WEIR__OP_SOURCE:
    break;
  case WEIR__OP_REPART:
    r = "re-blocks rows across read tasks";
    break;
  case WEIR__OP_LIMIT:
    r = "is a global limit";
    break;
  case WEIR__OP_UNION:
    r = "merges several inputs";
    break;
  case WEIR__OP_COLLECT:
  case WEIR__OP_ITERSINK:
    r = "is an iterator stage";
    break;
  default:
    if (op->nins != 1)
      r = "has several inputs";
    else if (op->opts.batch_rows > 0)
      r = "re-blocks its input (batch_rows)";
    else if (op->per_block < 0)
      r = "keeps state across blocks (a seen-set, a count or a barrier)";
    else if (op->per_block > 0)
      break;
    else if (op->kind == WEIR__OP_DEF && op->def.finish)
      r = "has a finish, which emits after seeing every block";
    else if (op->opts.max_workers == 1)
      r = "runs on one worker, as an operator that keeps state across blocks must";
  }
  if (r && why)
    snprintf(why, n, "operator '%s' %s", op->name, r);
  return r != NULL;
}

void weir__op_set_cleanup(weir_op *op, void (*fn)(void *), void *arg) {
  op->cleanup = fn;
  op->cleanup_arg = arg;
}

void weir__pipeline_free_shell(weir_pipeline *p) {
  pthread_cond_destroy(&p->cv_budget);
  pthread_mutex_destroy(&p->mu);
  weir__progress_free(p);
  free(p);
}

void weir_pipeline_destroy(weir_pipeline *p) {
  if (!p)
    return;
  pthread_mutex_lock(&p->mu);
  int iters = p->iters, complete = weir__output_complete(p);
  pthread_mutex_unlock(&p->mu);
  /* A run whose output got everything is not cancelled by its end. */
  if (!complete)
    weir_pipeline_cancel(p);
  weir__run_teardown(p);
  /* An iterator not destroyed yet cannot print the summary any more. */
  if (iters > 0 && p->started)
    weir__print_summary(p);
  for (size_t i = 0; i < p->nops; i++)
    weir__op_free(p->ops[i]);
  weir__op_free(p->collect);
  weir__op_free(p->itersink);
  p->collect = p->itersink = NULL;
  free(p->ops);
  p->ops = NULL;
  p->nops = 0;
  weir__resources_free(p);
  pthread_mutex_lock(&p->mu);
  p->destroyed = 1;
  int keep = p->iters > 0;
  pthread_mutex_unlock(&p->mu);
  /* A live iterator still points here: the last one frees the rest. */
  if (!keep)
    weir__pipeline_free_shell(p);
}

int weir_pipeline_errcode(const weir_pipeline *p) { return p ? p->errcode : WEIR_EINVAL; }

static int add_consumer(weir_op *in, weir_op *op) {
  if (in->nouts == in->outs_cap) {
    size_t cap = in->outs_cap ? in->outs_cap * 2 : 2;
    weir_op **n = realloc(in->outs, cap * sizeof *n);
    if (!n)
      return WEIR_ENOMEM;
    in->outs = n;
    in->outs_cap = cap;
  }
  in->outs[in->nouts++] = op;
  return WEIR_OK;
}

weir_op *weir__op_new(weir_pipeline *p, int kind, const char *name,
                      weir_op *const *ins, size_t nins,
                      const weir_op_options *opts, int hidden) {
  if (p->started)
    return weir__op_fail(p, WEIR_EINVAL, "operator '%s': the pipeline has already run",
                         name ? name : "?");
  weir_op_options def = WEIR_OP_OPTIONS_INIT;
  if (opts && opts->version != WEIR_OP_OPTIONS_VERSION)
    return weir__op_fail(p, WEIR_EINVAL, "operator '%s': unknown weir_op_options version %u",
                         name ? name : "?", opts->version);
  weir_op_options o = opts ? *opts : def;
  const char *bad = o.min_workers < 0 ? "min_workers" : o.max_workers < 0 ? "max_workers"
                    : o.num_cpus < 0 ? "num_cpus" : o.num_gpus < 0 ? "num_gpus" : NULL;
  if (bad)
    return weir__op_fail(p, WEIR_EINVAL, "operator '%s': negative %s", name ? name : "?", bad);
  if (o.max_retries < WEIR_RETRIES_NONE)
    return weir__op_fail(p, WEIR_EINVAL,
                         "operator '%s': max_retries %d: use a count, 0 for the default "
                         "(none) or WEIR_RETRIES_NONE (-1)",
                         name ? name : "?", o.max_retries);
  /* From here on max_retries is the number of retries: the default and
   * WEIR_RETRIES_NONE both mean none for an operator. */
  if (o.max_retries < 0)
    o.max_retries = 0;
  if (o.max_workers && o.min_workers > o.max_workers)
    return weir__op_fail(p, WEIR_EINVAL, "operator '%s': min_workers %d > max_workers %d",
                         name ? name : "?", o.min_workers, o.max_workers);
  for (size_t i = 0; i < nins; i++) {
    if (!ins[i])
      return weir__op_fail(p, WEIR_EINVAL, "operator '%s': input %zu is NULL",
                           name ? name : "?", i);
    if (ins[i]->p != p)
      return weir__op_fail(p, WEIR_EINVAL, "operator '%s': input '%s' belongs to another pipeline",
                           name ? name : "?", ins[i]->name);
  }
  if (o.num_gpus > 0) {
    const weir__gpu_backend *g = weir__gpu();
    char msg[256] = "";
    int rc = g ? g->check(o.num_gpus, msg, sizeof msg) : WEIR_ENOTSUP;
    if (rc != WEIR_OK)
      return weir__op_fail(p, rc, "operator '%s': cannot run on a GPU: %s",
                           name ? name : "?", msg[0] ? msg : weir_strerror(rc));
  }
  weir_op *op = calloc(1, sizeof *op);
  if (!op)
    return weir__op_fail(p, WEIR_ENOMEM, "out of memory");
  op->p = p;
  op->kind = kind;
  op->opts = o;
  op->gpu = o.num_gpus > 0;
  op->name = strdup(name ? name : "op");
  op->ins = nins ? calloc(nins, sizeof *op->ins) : NULL;
  if (!op->name || (nins && !op->ins)) {
    weir__op_free(op);
    return weir__op_fail(p, WEIR_ENOMEM, "out of memory");
  }
  pthread_cond_init(&op->cv_work, NULL);
  pthread_cond_init(&op->q.cv_space, NULL);
  for (size_t i = 0; i < nins; i++) {
    op->ins[i] = ins[i];
    if (add_consumer(ins[i], op) != WEIR_OK) {
      for (size_t j = 0; j < i; j++)
        ins[j]->nouts--;
      weir__op_free(op);
      return weir__op_fail(p, WEIR_ENOMEM, "out of memory");
    }
  }
  op->nins = nins;
  op->index = -1;
  if (!hidden) {
    if (p->nops == p->ops_cap) {
      size_t cap = p->ops_cap ? p->ops_cap * 2 : 8;
      weir_op **n = realloc(p->ops, cap * sizeof *n);
      if (!n) {
        for (size_t i = 0; i < nins; i++)
          ins[i]->nouts--;
        weir__op_free(op);
        return weir__op_fail(p, WEIR_ENOMEM, "out of memory");
      }
      p->ops = n;
      p->ops_cap = cap;
    }
    op->index = (int)p->nops;
    p->ops[p->nops++] = op;
  }
  op->st.name = op->name;
  p->build_failed = 0;
  return op;
}

weir_op *weir_source(weir_pipeline *p, const char *name, size_t num_tasks,
                     weir_read_fn fn, void *user, const weir_op_options *opts) {
  if (!p)
    return weir__op_fail(NULL, WEIR_EINVAL, "%s: NULL pipeline", "source");
  if (!fn)
    return weir__op_fail(p, WEIR_EINVAL, "source '%s': no read function", name ? name : "?");
  weir_op *op = weir__op_new(p, WEIR__OP_SOURCE, name ? name : "source", NULL, 0, opts, 0);
  if (!op)
    return NULL;
  op->read_fn = fn;
  op->user = user;
  op->num_tasks = num_tasks;
  op->opts.batch_rows = 0; /* a source has no input to re-block */
  return op;
}

weir_op *weir_map_batches(weir_pipeline *p, weir_op *in, const char *name,
                          weir_batch_fn fn, void *user, const weir_op_options *opts) {
  if (!p)
    return weir__op_fail(NULL, WEIR_EINVAL, "%s: NULL pipeline", "map_batches");
  if (!in)
    return weir__op_fail(p, p->errcode ? p->errcode : WEIR_EINVAL,
                         "map_batches '%s': no input (an earlier call failed: %s)",
                         name ? name : "?", weir_pipeline_errmsg(p));
  if (!fn)
    return weir__op_fail(p, WEIR_EINVAL, "map_batches '%s': no function", name ? name : "?");
  weir_op *op = weir__op_new(p, WEIR__OP_MAP, name ? name : "map_batches", &in, 1, opts, 0);
  if (op) {
    op->map_fn = fn;
    op->user = user;
  }
  return op;
}

weir_op *weir_add_op(weir_pipeline *p, weir_op *in, const weir_op_def *def,
                     void *user, const weir_op_options *opts) {
  if (!p)
    return weir__op_fail(NULL, WEIR_EINVAL, "%s: NULL pipeline", "add_op");
  const char *name = def && def->name ? def->name : "op";
  if (!in)
    return weir__op_fail(p, p->errcode ? p->errcode : WEIR_EINVAL,
                         "operator '%s': no input (an earlier call failed: %s)", name, weir_pipeline_errmsg(p));
  if (!def || !def->process)
    return weir__op_fail(p, WEIR_EINVAL, "operator '%s': no process callback", name);
  if (def->version != WEIR_OP_DEF_VERSION)
    return weir__op_fail(p, WEIR_EINVAL, "operator '%s': unknown weir_op_def version %u",
                         name, def->version);
  weir_op *op = weir__op_new(p, WEIR__OP_DEF, name, &in, 1, opts, 0);
  if (op) {
    op->def = *def;
    op->user = user;
  }
  return op;
}

weir_op *weir_repartition(weir_pipeline *p, weir_op *in, size_t rows_per_block) {
  if (!p)
    return weir__op_fail(NULL, WEIR_EINVAL, "%s: NULL pipeline", "repartition");
  if (!in)
    return weir__op_fail(p, p->errcode ? p->errcode : WEIR_EINVAL,
                         "repartition: no input (an earlier call failed: %s)", weir_pipeline_errmsg(p));
  if (rows_per_block == 0)
    return weir__op_fail(p, WEIR_EINVAL, "repartition: rows_per_block is 0");
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = o.max_workers = 1;
  o.batch_rows = rows_per_block;
  o.num_cpus = 0; /* slicing is cheap: it holds no CPU slot */
  return weir__op_new(p, WEIR__OP_REPART, "repartition", &in, 1, &o, 0);
}

weir_op *weir_limit(weir_pipeline *p, weir_op *in, uint64_t rows) {
  if (!p)
    return weir__op_fail(NULL, WEIR_EINVAL, "%s: NULL pipeline", "limit");
  if (!in)
    return weir__op_fail(p, p->errcode ? p->errcode : WEIR_EINVAL,
                         "limit: no input (an earlier call failed: %s)", weir_pipeline_errmsg(p));
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = o.max_workers = 1;
  o.num_cpus = 0;
  weir_op *op = weir__op_new(p, WEIR__OP_LIMIT, "limit", &in, 1, &o, 0);
  if (op)
    op->limit_rows = rows;
  return op;
}

weir_op *weir_union(weir_pipeline *p, weir_op *const *ins, size_t n) {
  if (!p)
    return weir__op_fail(NULL, WEIR_EINVAL, "%s: NULL pipeline", "union");
  if (!ins || n == 0)
    return weir__op_fail(p, WEIR_EINVAL, "union: no inputs");
  for (size_t i = 0; i < n; i++)
    if (!ins[i])
      return weir__op_fail(p, p->errcode ? p->errcode : WEIR_EINVAL,
                           "union: input %zu is NULL (an earlier call failed: %s)", i, weir_pipeline_errmsg(p));
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (ins[i] == ins[j])
        return weir__op_fail(p, WEIR_EINVAL, "union: input '%s' given twice", ins[i]->name);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = o.max_workers = 1;
  o.num_cpus = 0;
  return weir__op_new(p, WEIR__OP_UNION, "union", ins, n, &o, 0);
}

const char *weir_op_name(const weir_op *op) { return op ? op->name : ""; }
int weir_op_index(const weir_op *op) { return op ? op->index : WEIR_EINVAL; }
