/* weir on MPI ranks: real pipelines (tests/dist/dist_prog.c) started by
 * mpirun on loopback with 1, 2 and 4 ranks write the same set of rows as
 * the same program in one process; read tasks go to the rank that asks,
 * so a slow rank takes fewer; a rank that dies or stops ends the others
 * with an error naming it. mpirun missing fails the tests unless
 * WEIR_TEST_ALLOW_SKIP=1. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <weir.h>

#include "servers/servers.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("dist-mpi"); }
TestSuite(dist_mpi, .init = make_tmp, .fini = tmpdir_remove, .timeout = 300);

static void need_mpirun(void) {
  if (access(WEIR_TEST_MPIRUN, X_OK) != 0 && system("command -v mpirun >/dev/null 2>&1") != 0)
    srv_missing("mpirun is missing: install openmpi-bin (Debian) to run weir's MPI tests");
}

/* Runs `cmd` through the shell; its stdout and stderr in *out (malloc'ed).
 * Returns the exit status, or 128 + the signal. */
static int run_cmd(const char *cmd, char **out) {
  char full[8192];
  snprintf(full, sizeof full, "%s 2>&1", cmd);
  FILE *f = popen(full, "r");
  cr_assert_not_null(f, "popen %s", cmd);
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  size_t n;
  while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (cap - len < 4096) buf = realloc(buf, cap *= 2);
  }
  buf[len] = 0;
  int st = pclose(f);
  *out = buf;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Seconds of silence after which a rank counts as failed, for the next
 * run_prog(): generous by default, so a rank starved of CPU on a loaded
 * machine (or under a sanitizer) is not taken for a dead one. */
static int silence_s = 60;
/* Extra mpirun arguments for the next run_prog() ("-x VAR=value"). */
static const char *extra_args = "";
/* The program run_prog() starts. */
static const char *prog = WEIR_TEST_DIST_PROG;

/* dist_prog MODE IN OUT on `np` ranks (0: alone, without mpirun). The
 * whole command is bounded by `timeout` so a hang fails instead. */
static int run_prog(int np, const char *mode, const char *in, const char *outp, char **out) {
  char cmd[4096];
  if (np == 0)
    snprintf(cmd, sizeof cmd, "timeout -k 5 120 %s %s '%s' '%s'", prog, mode, in, outp);
  else
    /* Under AddressSanitizer the ranks keep its checks but not its leak
     * report: the MPI library does not free what it keeps until exit. */
    snprintf(cmd, sizeof cmd,
             "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" "
             "timeout -k 5 120 %s --oversubscribe --allow-run-as-root --bind-to none "
             "--mca btl self,vader --mca btl_vader_single_copy_mechanism none -np %d "
             "-x WEIR_DIST=mpi -x WEIR_DIST_TIMEOUT=%d -x WEIR_MPI_LIBRARY='%s' %s %s %s '%s' '%s'",
             WEIR_TEST_MPIRUN, np, silence_s, WEIR_TEST_MPI_LIBRARY, extra_args, prog, mode,
             in, outp);
  return run_cmd(cmd, out);
}

/* The lines of every shard in folder `dir`, sorted; *n of them. Checks
 * that on `np` > 1 ranks every shard's name carries its rank. */
static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **read_rows(const char *dir, int np, size_t *n) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d, "no output folder %s", dir);
  size_t cap = 1024, k = 0;
  char **rows = malloc(cap * sizeof *rows);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (np > 1) {
      int r = -1;
      cr_assert_eq(sscanf(e->d_name, "part-r%5d-", &r), 1, "shard %s has no rank in its name",
                   e->d_name);
      cr_assert(r >= 0 && r < np, "shard %s: rank %d of %d", e->d_name, r, np);
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
      if (k == cap) rows = realloc(rows, (cap *= 2) * sizeof *rows);
      rows[k++] = strdup(line);
    }
    fclose(f);
  }
  closedir(d);
  qsort(rows, k, sizeof *rows, cmp_str);
  *n = k;
  return rows;
}

static void free_rows(char **rows, size_t n) {
  for (size_t i = 0; i < n; i++) free(rows[i]);
  free(rows);
}

/* Every rank printed its line, with its rank and the size. */
static void check_ranks(const char *out, int np) {
  for (int r = 0; r < np; r++) {
    char want[64];
    snprintf(want, sizeof want, "dist rank=%d size=%d ", r, np);
    cr_assert(strstr(out, want), "no line \"%s\" in:\n%s", want, out);
  }
}

/* The program in one process, then on 1, 2 and 4 ranks: the same rows. */
static void same_rows_on_ranks(const char *mode, const char *in, size_t want_rows) {
  need_mpirun();
  char *out = NULL;
  char *alone = strdup(path_of("out-alone"));
  int rc = run_prog(0, mode, in, alone, &out);
  cr_assert_eq(rc, 0, "alone: exit %d:\n%s", rc, out);
  free(out);
  size_t n0;
  char **rows0 = read_rows(alone, 0, &n0);
  cr_assert_eq(n0, want_rows, "alone wrote %zu rows, not %zu", n0, want_rows);
  int nps[] = {1, 2, 4};
  for (int i = 0; i < 3; i++) {
    char name[32];
    snprintf(name, sizeof name, "out-np%d", nps[i]);
    char *dir = strdup(path_of(name));
    rc = run_prog(nps[i], mode, in, dir, &out);
    cr_assert_eq(rc, 0, "-np %d: exit %d:\n%s", nps[i], rc, out);
    check_ranks(out, nps[i]);
    size_t n;
    char **rows = read_rows(dir, nps[i], &n);
    cr_assert_eq(n, n0, "-np %d wrote %zu rows, one process %zu:\n%s", nps[i], n, n0, out);
    for (size_t k = 0; k < n; k++)
      cr_assert_str_eq(rows[k], rows0[k], "-np %d: row %zu of the sorted outputs differs",
                       nps[i], k);
    free_rows(rows, n);
    free(out);
    free(dir);
  }
  free_rows(rows0, n0);
  free(alone);
}

/* `files` JSONL files of `rows` rows each in folder `name`. */
static char *make_jsonl(const char *name, int files, int rows) {
  char *dir = strdup(path_of(name));
  for (int f = 0; f < files; f++) {
    char fname[64];
    snprintf(fname, sizeof fname, "%s/in-%03d.jsonl", name, f);
    FILE *out = fopen(path_of(fname), "w");
    if (!out) {
      write_str(path_of(fname), "");
      out = fopen(path_of(fname), "w");
    }
    cr_assert_not_null(out);
    for (int r = 0; r < rows; r++) {
      int id = f * rows + r;
      fprintf(out, "{\"id\": %d, \"text\": \"document %d of file %d\", \"score\": %g}\n", id,
              id, f, id * 0.25);
    }
    fclose(out);
  }
  return dir;
}

Test(dist_mpi, mpi_outside_mpirun_is_refused_saying_how_to_run) {
  setenv("WEIR_DIST", "mpi", 1);
  unsetenv("OMPI_COMM_WORLD_SIZE");
  unsetenv("PMIX_RANK");
  unsetenv("PMI_RANK");
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_ENOTSUP);
  cr_assert(strstr(weir_last_errmsg(), "mpirun"), "%s", weir_last_errmsg());
  unsetenv("WEIR_DIST");
  /* The option asks for it the same way. */
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.dist = WEIR_DIST_MPI;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_ENOTSUP);
  po.dist = 7;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_EINVAL);
  po.dist = WEIR_DIST_LOCAL;
  setenv("WEIR_DIST", "mpi", 1);
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK, "%s", weir_last_errmsg());
  weir_pipeline_destroy(p);
  unsetenv("WEIR_DIST");
}

Test(dist_mpi, jsonl_map_write_same_rows_on_1_2_4_ranks) {
  char *in = make_jsonl("in", 16, 300);
  same_rows_on_ranks("jsonl", in, 16 * 300);
  free(in);
}

Test(dist_mpi, parquet_row_groups_same_rows_on_1_2_4_ranks) {
  need_mpirun();
  char *in = make_jsonl("in", 6, 1000);
  char *pq = strdup(path_of("pq"));
  char *out = NULL;
  int rc = run_prog(0, "mkparquet", in, pq, &out);
  cr_assert_eq(rc, 0, "making the Parquet input: exit %d:\n%s", rc, out);
  free(out);
  same_rows_on_ranks("parquet", pq, 6000);
  free(pq);
  free(in);
}

Test(dist_mpi, text_byte_ranges_same_rows_on_1_2_4_ranks) {
  char *dir = strdup(path_of("txt"));
  for (int f = 0; f < 3; f++) {
    char fname[64];
    snprintf(fname, sizeof fname, "txt/doc-%d.txt", f);
    write_str(path_of(fname), "");
    FILE *out = fopen(path_of(fname), "w");
    cr_assert_not_null(out);
    for (int r = 0; r < 2000; r++) fprintf(out, "line %d of document %d\n", r, f);
    fclose(out);
  }
  same_rows_on_ranks("text", dir, 6000);
  free(dir);
}

/* Rank 1 holds its first task until rank 0 has done 35 of the 40: with a
 * fixed share per rank rank 0 could never get there (rank 1's 20 would
 * wait), and rank 1 waits 60 s and fails. Handed out as asked, rank 1
 * does what it was granted before it stalled, 5 tasks at most (the
 * coordinator's first share of 40 for 2 ranks). */
Test(dist_mpi, slow_rank_takes_fewer_read_tasks) {
  need_mpirun();
  char *mark = strdup(path_of("mark"));
  char *dir = strdup(path_of("out-slow"));
  char *out = NULL;
  int rc = run_prog(2, "slow", mark, dir, &out);
  cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
  unsigned long t0 = 0, t1 = 0, r0, r1;
  const char *l0 = strstr(out, "dist rank=0 size=2 "), *l1 = strstr(out, "dist rank=1 size=2 ");
  cr_assert(l0 && l1, "%s", out);
  cr_assert_eq(sscanf(l0, "dist rank=0 size=2 tasks=%lu rows=%lu", &t0, &r0), 2);
  cr_assert_eq(sscanf(l1, "dist rank=1 size=2 tasks=%lu rows=%lu", &t1, &r1), 2);
  cr_assert_eq(t0 + t1, 40, "tasks %lu + %lu:\n%s", t0, t1, out);
  cr_assert(t1 <= 5 && t0 >= 35, "rank 0 did %lu tasks, the slow rank 1 %lu:\n%s", t0, t1, out);
  size_t n;
  char **rows = read_rows(dir, 2, &n);
  cr_assert_eq(n, 400, "%zu rows", n);
  free_rows(rows, n);
  free(out);
  free(dir);
  free(mark);
}

/* A rank that stops answering (SIGSTOP: alive, silent) ends the others
 * through the heartbeat, with an error naming it; mpirun then ends. The
 * default silence (10 s) would do; 5 s keeps the test short. */
Test(dist_mpi, stopped_rank_ends_the_others_naming_it) {
  need_mpirun();
  silence_s = 5;
  char *dir = strdup(path_of("out-stop"));
  char *out = NULL;
  int rc = run_prog(3, "die", "stop", dir, &out);
  cr_assert_neq(rc, 0, "the run succeeded with a stopped rank:\n%s", out);
  cr_assert_neq(rc, 124, "the run hung until the test's timeout:\n%s", out);
  cr_assert(strstr(out, "rank 1 sent nothing"), "no error naming rank 1:\n%s", out);
  free(out);
  free(dir);
}

/* A rank killed mid-run: the others end non-zero, never hang. */
Test(dist_mpi, killed_rank_ends_the_others) {
  need_mpirun();
  char *dir = strdup(path_of("out-kill"));
  char *out = NULL;
  int rc = run_prog(3, "die", "kill", dir, &out);
  cr_assert_neq(rc, 0, "the run succeeded with a killed rank:\n%s", out);
  cr_assert_neq(rc, 124, "the run hung until the test's timeout:\n%s", out);
  cr_assert(strstr(out, "rank 1"), "nothing names rank 1:\n%s", out);
  free(out);
  free(dir);
}

/* A rank whose run makes no progress is reported by its stall detector,
 * which names the rank: mpirun mixes every rank's output. */
Test(dist_mpi, stall_report_names_the_rank) {
  need_mpirun();
  char *mark = strdup(path_of("stall-mark"));
  char *dir = strdup(path_of("out-stall"));
  char *out = NULL;
  int rc = run_prog(2, "stall", mark, dir, &out);
  cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
  cr_assert(strstr(out, "rank 1 of 2 stalled: no progress for"),
            "no stall report naming rank 1:\n%s", out);
  cr_assert(strstr(out, "operator 'stalling' holds the pipeline"), "%s", out);
  size_t n;
  char **rows = read_rows(dir, 2, &n);
  cr_assert_eq(n, 200, "%zu rows", n);
  free_rows(rows, n);
  free(out);
  free(dir);
  free(mark);
}

/* Progress on ranks: only rank 0 shows it, and it counts every rank's
 * rows (rank 0 holds its first task until it sees 100 rows it did not
 * make). */
Test(dist_mpi, progress_is_shown_by_rank_0_with_every_ranks_rows) {
  need_mpirun();
  char *dir = strdup(path_of("out-progress"));
  char *out = NULL;
  int rc = run_prog(2, "progress", "-", dir, &out);
  cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
  size_t lines = 0, of_all = 0;
  for (const char *q = out; (q = strstr(q, "log: weir progress")) != NULL; q++) {
    lines++;
    const char *eol = strchr(q, '\n');
    const char *all = strstr(q, ", all 2 ranks (");
    if (all && (!eol || all < eol)) of_all++;
  }
  cr_assert(lines > 0, "no progress:\n%s", out);
  cr_assert_eq(of_all, lines, "%zu of %zu progress lines are not rank 0's of all ranks:\n%s",
               lines - of_all, lines, out);
  cr_assert(strstr(out, ", all 2 ranks (1 other reporting)"), "%s", out);
  size_t n;
  char **rows = read_rows(dir, 2, &n);
  cr_assert_eq(n, 4000, "%zu rows", n);
  free_rows(rows, n);
  free(out);
  free(dir);
}

/* A program that initialised MPI itself with MPI_THREAD_MULTIPLE: weir
 * uses that MPI (its own communicator, its own thread), the program's own
 * collectives work beside it, and the program's MPI_Finalize stops weir
 * first. */
Test(dist_mpi, program_that_starts_mpi_itself_shares_it) {
  need_mpirun();
  char *in = make_jsonl("own-in", 4, 500);
  char *dir = strdup(path_of("out-own"));
  char *out = NULL;
  prog = WEIR_TEST_OWN_INIT_PROG;
  int rc = run_prog(2, "multiple", in, dir, &out);
  cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
  unsigned long total_rows = 0;
  for (int r = 0; r < 2; r++) {
    char want[64];
    snprintf(want, sizeof want, "own_init rank=%d size=2 mpi_rank=%d ", r, r);
    const char *line = strstr(out, want);
    cr_assert(line, "no line \"%s\" (weir's rank differs from MPI's?):\n%s", want, out);
    unsigned long rows = 0, total = 0;
    cr_assert_eq(sscanf(line + strlen(want), "rows=%lu total=%lu", &rows, &total), 2, "%s", out);
    cr_assert_eq(total, 2000, "the program's own MPI_Allreduce gave %lu:\n%s", total, out);
    total_rows += rows;
  }
  cr_assert_eq(total_rows, 2000, "%s", out);
  size_t n;
  char **rows = read_rows(dir, 2, &n);
  cr_assert_eq(n, 2000, "%zu rows written", n);
  free_rows(rows, n);
  free(out);
  free(dir);
  free(in);
}

/* Below MPI_THREAD_MULTIPLE weir's thread may not call MPI beside the
 * program's: refused, saying what to ask for, and the program ends
 * cleanly. */
Test(dist_mpi, program_mpi_below_thread_multiple_is_refused) {
  need_mpirun();
  char *in = make_jsonl("own-in2", 1, 10);
  char *dir = strdup(path_of("out-own2"));
  char *out = NULL;
  prog = WEIR_TEST_OWN_INIT_PROG;
  int rc = run_prog(2, "funneled", in, dir, &out);
  cr_assert_eq(rc, 3, "exit %d:\n%s", rc, out);
  cr_assert(strstr(out, "own_init refused: ") && strstr(out, "MPI_THREAD_MULTIPLE"),
            "no refusal naming MPI_THREAD_MULTIPLE:\n%s", out);
  free(out);
  free(dir);
  free(in);
}

/* The value of `"name":` in a JSON line, as text up to , or }. */
static void json_field(const char *line, const char *name, char *out, size_t n) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", name);
  const char *v = strstr(line, pat);
  cr_assert_not_null(v, "no %s in %s", name, line);
  v += strlen(pat);
  while (*v == ' ') v++;
  size_t k = strcspn(v, ",}");
  snprintf(out, n, "%.*s", (int)(k < n ? k : n - 1), v);
}

/* Rows with equal keys end on one rank, and every row arrives once: on 2
 * and 4 ranks, from a reader whose tasks any rank may have read. */
Test(dist_mpi, repartition_by_key_sends_each_key_to_one_rank) {
  need_mpirun();
  char *in = strdup(path_of("kin"));
  enum { FILES = 12, ROWS = 500, KEYS = 37 };
  for (int f = 0; f < FILES; f++) {
    char fname[64];
    snprintf(fname, sizeof fname, "kin/in-%03d.jsonl", f);
    write_str(path_of(fname), "");
    FILE *o = fopen(path_of(fname), "w");
    cr_assert_not_null(o);
    for (int r = 0; r < ROWS; r++) {
      int id = f * ROWS + r;
      fprintf(o, "{\"id\": %d, \"key\": \"k%d\", \"pad\": \"%0*d\"}\n", id, id % KEYS, 40, id);
    }
    fclose(o);
  }
  int nps[] = {2, 4};
  for (int t = 0; t < 2; t++) {
    int np = nps[t];
    char name[32];
    snprintf(name, sizeof name, "kout-np%d", np);
    char *dir = strdup(path_of(name));
    char *out = NULL;
    int rc = run_prog(np, "exchange", in, dir, &out);
    cr_assert_eq(rc, 0, "-np %d: exit %d:\n%s", np, rc, out);
    check_ranks(out, np);
    int owner[KEYS];
    for (int k = 0; k < KEYS; k++) owner[k] = -1;
    unsigned char *seen = calloc(FILES * ROWS, 1);
    size_t total = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') continue;
      int r = -1;
      cr_assert_eq(sscanf(e->d_name, "part-r%5d-", &r), 1, "%s", e->d_name);
      char path[1024];
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      FILE *f = fopen(path, "r");
      char line[512], v[64];
      while (fgets(line, sizeof line, f)) {
        json_field(line, "id", v, sizeof v);
        int id = atoi(v);
        cr_assert(id >= 0 && id < FILES * ROWS, "%s", line);
        cr_assert_eq(seen[id], 0, "-np %d: row %d arrived twice", np, id);
        seen[id] = 1;
        total++;
        json_field(line, "key", v, sizeof v);
        int k = atoi(v + 2); /* "kNN" */
        cr_assert(k >= 0 && k < KEYS, "%s", line);
        cr_assert_eq(k, id % KEYS, "%s", line);
        cr_assert(owner[k] == -1 || owner[k] == r,
                  "-np %d: key k%d on rank %d and rank %d", np, k, owner[k], r);
        owner[k] = r;
      }
      fclose(f);
    }
    closedir(d);
    cr_assert_eq(total, (size_t)FILES * ROWS, "-np %d: %zu rows of %d:\n%s", np, total,
                 FILES * ROWS, out);
    /* Keys spread over the ranks (37 keys, fixed hash: not all on one). */
    int ranks_used = 0;
    for (int r = 0; r < np; r++) {
      int has = 0;
      for (int k = 0; k < KEYS; k++) has |= owner[k] == r;
      ranks_used += has;
    }
    cr_assert_gt(ranks_used, 1, "-np %d: every key on one rank", np);
    free(seen);
    free(out);
    free(dir);
  }
  free(in);
}

/* weir_limit is global: the ranks together write its count of rows, each
 * one of the input's. */
Test(dist_mpi, limit_is_global_across_ranks) {
  need_mpirun();
  char *in = make_jsonl("lin", 10, 400);
  int nps[] = {2, 4};
  for (int t = 0; t < 2; t++) {
    char name[32];
    snprintf(name, sizeof name, "lout-np%d", nps[t]);
    char *dir = strdup(path_of(name));
    char *out = NULL;
    int rc = run_prog(nps[t], "limit", in, dir, &out);
    cr_assert_eq(rc, 0, "-np %d: exit %d:\n%s", nps[t], rc, out);
    size_t n;
    char **rows = read_rows(dir, nps[t], &n);
    cr_assert_eq(n, 1234, "-np %d: %zu rows, not the limit's 1234:\n%s", nps[t], n, out);
    for (size_t k = 0; k + 1 < n; k++)
      cr_assert_str_neq(rows[k], rows[k + 1], "a row twice: %s", rows[k]);
    for (size_t k = 0; k < n; k++) cr_assert(strstr(rows[k], "document "), "%s", rows[k]);
    free_rows(rows, n);
    free(out);
    free(dir);
  }
  free(in);
}

static int count_of(const char *hay, const char *needle) {
  int n = 0;
  for (const char *q = hay; (q = strstr(q, needle)) != NULL; q++) n++;
  return n;
}

/* With `summary` on, rank 0 logs every rank's statistics table, each under
 * its rank; no other rank logs one. */
Test(dist_mpi, summary_tables_are_gathered_to_rank_0) {
  need_mpirun();
  char *in = make_jsonl("sin", 6, 200);
  char *dir = strdup(path_of("sout"));
  char *out = NULL;
  extra_args = "-x DIST_SUMMARY=1";
  int rc = run_prog(3, "jsonl", in, dir, &out);
  extra_args = "";
  cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
  cr_assert_eq(count_of(out, "weir summary of rank 0 of 3:"), 1, "%s", out);
  cr_assert_eq(count_of(out, "weir summary of rank 1 of 3 (gathered on rank 0):"), 1, "%s", out);
  cr_assert_eq(count_of(out, "weir summary of rank 2 of 3 (gathered on rank 0):"), 1, "%s", out);
  /* Three tables, and one of all ranks, each naming the pipeline's
   * operators, and no more. */
  cr_assert_eq(count_of(out, "double"), 4, "%s", out);
  const char *all = strstr(out, "weir summary of all 3 ranks:\n");
  cr_assert(all, "no table of all ranks:\n%s", out);
  cr_assert(strstr(all, "out r0") && strstr(all, "out r2") && !strstr(all, "out r3"), "%s", all);
  /* The map's line: 1200 rows in and out over all ranks, and the ranks'
   * own columns add up to them. */
  const char *line = strstr(all, "\ndouble ");
  cr_assert(line, "%s", all);
  unsigned long long rows_in = 0, total = 0, d = 0, sk = 0, r0 = 0, r1 = 0, r2 = 0;
  double cpu = 0;
  cr_assert_eq(sscanf(line + 1, "double %llu %llu %llu %llu %lf %llu %llu %llu", &rows_in, &total, &d,
                      &sk, &cpu, &r0, &r1, &r2),
               8, "%s", all);
  cr_assert_eq(rows_in, 1200, "%s", all);
  cr_assert_eq(total, 1200, "%s", all);
  cr_assert_eq(r0 + r1 + r2, 1200, "%s", all);
  cr_assert(strstr(all, "3 of 3 ranks reported; wall "), "%s", all);
  free(out);
  free(dir);
  free(in);
}
