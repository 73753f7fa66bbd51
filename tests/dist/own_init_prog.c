/* A program that starts MPI itself, before weir, and uses it beside weir:
 * test_dist_mpi.c runs it under mpirun.
 *
 *   own_init_prog LEVEL IN OUT
 *
 * It calls MPI_Init_thread at LEVEL ("multiple" or "funneled"), runs
 * read_jsonl(IN) -> count -> write_jsonl(OUT) on the ranks (dist =
 * WEIR_DIST_MPI), adds the ranks' row counts with its own MPI_Allreduce,
 * and finalises MPI itself. It prints one line per rank:
 *   "own_init rank=R size=S mpi_rank=M rows=N total=T"
 * or, when weir refuses the pipeline, "own_init refused: <message>" and
 * exits with status 3. */
#include <mpi.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <weir.h>

static atomic_ulong rows_seen;

static int counted(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  atomic_fetch_add(&rows_seen, weir_block_num_rows(in));
  return weir_emit_block(out, weir_block_ref(in));
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: own_init_prog multiple|funneled IN OUT\n");
    return 2;
  }
  int want = strcmp(argv[1], "multiple") ? MPI_THREAD_FUNNELED : MPI_THREAD_MULTIPLE;
  int provided = 0, mpi_rank = 0;
  MPI_Init_thread(&argc, &argv, want, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank);

  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.num_cpus = 2;
  po.dist = WEIR_DIST_MPI;
  weir_pipeline *p = NULL;
  if (weir_pipeline_create(&p, &po) != WEIR_OK) {
    printf("own_init refused: %s\n", weir_last_errmsg());
    fflush(stdout);
    MPI_Finalize();
    return 3;
  }
  weir_op *src = weir_read_jsonl(p, argv[2], NULL);
  weir_op *count = weir_map_batches(p, src, "count", counted, NULL, NULL);
  weir_write_options wo = WEIR_WRITE_OPTIONS_INIT;
  weir_op *sink = weir_write_jsonl(p, count, argv[3], &wo);
  int rc = sink ? weir_pipeline_run(p, sink) : WEIR_EINVAL;
  if (rc != WEIR_OK) fprintf(stderr, "own_init: %s\n", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);

  unsigned long mine = atomic_load(&rows_seen), total = 0;
  MPI_Allreduce(&mine, &total, 1, MPI_UNSIGNED_LONG, MPI_SUM, MPI_COMM_WORLD);
  printf("own_init rank=%d size=%d mpi_rank=%d rows=%lu total=%lu\n", weir_dist_rank(),
         weir_dist_size(), mpi_rank, mine, total);
  fflush(stdout);
  MPI_Finalize();
  return rc == WEIR_OK ? 0 : 1;
}
