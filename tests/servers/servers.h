/* Helpers that start real servers for the network tests and benchmarks:
 * nginx over a temporary folder, and moto's S3 server (PyPI, from the
 * tests' Python environment), each on a free port of 127.0.0.1, stopped
 * (and their folders removed) at the end; and srv_missing, which fails a
 * test whose server or tool is missing unless WEIR_TEST_ALLOW_SKIP=1. */
#ifndef WEIR_TESTS_SERVERS_H
#define WEIR_TESTS_SERVERS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A port nobody listens on now (the kernel's pick for port 0). */
static inline int srv_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { 0 };
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) close(fd);
  return port;
}

/* Waits until something accepts connections on the port; 0 when it does. */
static inline int srv_wait_port(int port, pid_t pid, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { 0 };
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    if (ok) return 0;
    if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid) return -1;
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);
  }
  return -1;
}

/* A full path to `prog` found on $PATH (malloc'd), or NULL. */
static inline char *srv_which(const char *prog) {
  const char *path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  char *copy = strdup(path), *save = NULL;
  char *found = NULL;
  /* nginx lives in sbin, which is not always on a user's PATH. */
  char *all = malloc(strlen(copy) + 32);
  sprintf(all, "%s:/usr/sbin:/sbin", copy);
  for (char *d = strtok_r(all, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", d, prog);
    if (access(buf, X_OK) == 0) {
      found = strdup(buf);
      break;
    }
  }
  free(all);
  free(copy);
  return found;
}

/* A fresh temporary folder (malloc'd path) under $WEIR_TEST_TMP or /tmp. */
static inline char *srv_tmpdir(const char *tag) {
  const char *base = getenv("WEIR_TEST_TMP");
  if (!base || !*base) base = "/tmp";
  mkdir(base, 0755);
  char *p = malloc(strlen(base) + strlen(tag) + 16);
  sprintf(p, "%s/%s-XXXXXX", base, tag);
  if (!mkdtemp(p)) {
    free(p);
    return NULL;
  }
  chmod(p, 0755);
  return p;
}

static inline int srv_rm_one(const char *p, const struct stat *st, int flag,
                             struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  remove(p);
  return 0;
}

static inline void srv_rm_rf(const char *dir) {
  if (dir) nftw(dir, srv_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void srv_stop(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  for (int i = 0; i < 250; i++) {
    if (waitpid(pid, NULL, WNOHANG) == pid) return;
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

/* Writes `len` bytes to `path`; 0 on success. */
static inline int srv_write_file(const char *path, const void *data,
                                 size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  int ok = fwrite(data, 1, len, f) == len;
  return fclose(f) == 0 && ok ? 0 : -1;
}

/* Deterministic bytes that differ at every offset and between seeds, so a
 * misplaced or repeated range shows up in a comparison. */
static inline void srv_fill(unsigned char *p, size_t len, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = (unsigned char)(x >> 24);
  }
}

/* The test servers are local: keep any proxy of the environment out of
 * the way (libcurl honours http_proxy and no_proxy). */
static inline void srv_no_proxy(void) {
  setenv("no_proxy", "127.0.0.1,localhost", 1);
  setenv("NO_PROXY", "127.0.0.1,localhost", 1);
}

typedef struct srv_proc {
  pid_t pid;
  int port;
  char *dir;      /* the server's own folder (config, logs, data) */
  char url[64];   /* "http://127.0.0.1:<port>" */
  char access_key[64];   /* S3 servers: the credentials they accept */
  char secret_key[128];
} srv_proc;

static inline pid_t srv_spawn(char *const argv[], const char *log) {
  pid_t pid = fork();
  if (pid == 0) {
#ifdef __linux__
    /* A test that crashes never runs its fini: the server must not outlive
     * it. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

/* nginx serving `www` (a folder) on a free port. Returns 0, or -1 with the
 * reason in `why` (e.g. nginx is not installed). */
/* nginx serving `www`, with `extra` (directives, or "") in its server
 * block: "dav_methods PUT DELETE; create_full_put_path on;" makes it take
 * uploads. */
static inline int srv_nginx_start_conf(srv_proc *s, const char *www,
                                       const char *cert, const char *key,
                                       const char *extra, char *why,
                                       size_t whylen) {
  memset(s, 0, sizeof *s);
  srv_no_proxy();
  char *nginx = srv_which("nginx");
  if (!nginx) {
    snprintf(why, whylen, "nginx is not installed (apt-get install "
             "nginx-light)");
    return -1;
  }
  s->dir = srv_tmpdir("nginx");
  for (int attempt = 0; attempt < 5; attempt++) {
    s->port = srv_free_port();
    char conf[4096], path[1024];
    snprintf(conf, sizeof conf,
             "%s"
             "worker_processes 1;\n"
             "error_log %s/error.log;\n"
             "pid %s/nginx.pid;\n"
             "events { worker_connections 1024; }\n"
             "http {\n"
             "  access_log off;\n"
             "  client_body_temp_path %s/body;\n"
             "  proxy_temp_path %s/proxy;\n"
             "  fastcgi_temp_path %s/fastcgi;\n"
             "  uwsgi_temp_path %s/uwsgi;\n"
             "  scgi_temp_path %s/scgi;\n"
             "  sendfile on;\n"
             "  keepalive_requests 100000;\n"
             "  server { listen 127.0.0.1:%d%s; root %s;%s%s%s%s%s %s }\n"
             "}\n",
             geteuid() == 0 ? "user root;\n" : "", s->dir, s->dir, s->dir,
             s->dir, s->dir, s->dir, s->dir, s->port, cert ? " ssl" : "",
             www, cert ? " ssl_certificate " : "", cert ? cert : "",
             cert ? "; ssl_certificate_key " : "", cert ? key : "",
             cert ? ";" : "", extra ? extra : "");
    snprintf(path, sizeof path, "%s/nginx.conf", s->dir);
    srv_write_file(path, conf, strlen(conf));
    char log[1024];
    snprintf(log, sizeof log, "%s/stderr.log", s->dir);
    char *argv[] = { nginx, "-p", s->dir, "-c", path, "-g", "daemon off;",
                     NULL };
    s->pid = srv_spawn(argv, log);
    if (srv_wait_port(s->port, s->pid, 5000) == 0) {
      snprintf(s->url, sizeof s->url, "%s://127.0.0.1:%d",
               cert ? "https" : "http", s->port);
      free(nginx);
      return 0;
    }
    srv_stop(s->pid);      /* the port was taken in between: try another */
  }
  free(nginx);
  snprintf(why, whylen, "nginx did not start (see %s/error.log)", s->dir);
  return -1;
}

static inline int srv_nginx_start_ex(srv_proc *s, const char *www,
                                     const char *cert, const char *key,
                                     char *why, size_t whylen) {
  return srv_nginx_start_conf(s, www, cert, key, "", why, whylen);
}

static inline int srv_nginx_start(srv_proc *s, const char *www, char *why,
                                  size_t whylen) {
  return srv_nginx_start_ex(s, www, NULL, NULL, why, whylen);
}

/* Makes a self-signed certificate for 127.0.0.1 in `dir` (cert.pem,
 * key.pem) with the openssl CLI; 0 on success. */
static inline int srv_make_cert(const char *dir, char *why, size_t whylen) {
  char *openssl = srv_which("openssl");
  if (!openssl) {
    snprintf(why, whylen, "the openssl CLI is not installed");
    return -1;
  }
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "'%s' req -x509 -newkey rsa:2048 -nodes -days 2 -subj "
           "/CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout "
           "'%s/key.pem' -out '%s/cert.pem' >/dev/null 2>&1",
           openssl, dir, dir);
  free(openssl);
  if (system(cmd) != 0) {
    snprintf(why, whylen, "openssl could not make a test certificate");
    return -1;
  }
  return 0;
}

/* The tests' Python environment made by .ci/setup: $WEIR_VENV, or
 * ~/.cache/weir-venv (malloc'd path). */
static inline char *srv_venv(void) {
  const char *v = getenv("WEIR_VENV");
  char buf[2048];
  if (v && *v) {
    snprintf(buf, sizeof buf, "%s", v);
  } else {
    const char *home = getenv("HOME");
    snprintf(buf, sizeof buf, "%s/.cache/weir-venv", home ? home : "");
  }
  return strdup(buf);
}

/* A program of the tests' Python environment (malloc'd), or NULL with the
 * reason in `why`. */
static inline char *srv_venv_bin(const char *prog, char *why, size_t whylen) {
  char *venv = srv_venv();
  size_t len = strlen(venv) + strlen(prog) + 8;
  char *p = malloc(len);
  snprintf(p, len, "%s/bin/%s", venv, prog);
  if (access(p, X_OK) != 0) {
    snprintf(why, whylen, "%s is not installed (bash .ci/setup makes the "
             "Python environment %s; WEIR_VENV names another)", p, venv);
    free(p);
    p = NULL;
  }
  free(venv);
  return p;
}

#ifdef WEIR_TEST_SOURCE_DIR
/* moto's S3 server (moto_server from the tests' Python environment) on a
 * free port, with one bucket, "test", and one IAM user whose keys are
 * s->access_key / s->secret_key. moto accepts any credentials until its
 * authentication is switched on; moto_s3_setup.py switches it on once the
 * bucket and the user exist, so from then on an unknown key is refused
 * (InvalidAccessKeyId) and so is a wrong secret (SignatureDoesNotMatch).
 * Its log, one line per request, is <dir>/moto.log. */
static inline int srv_moto_start(srv_proc *s, char *why, size_t whylen) {
  memset(s, 0, sizeof *s);
  srv_no_proxy();
  char *moto = srv_venv_bin("moto_server", why, whylen);
  if (!moto) return -1;
  char *python = srv_venv_bin("python", why, whylen);
  if (!python) {
    free(moto);
    return -1;
  }
  s->dir = srv_tmpdir("moto");
  char log[1024];
  snprintf(log, sizeof log, "%s/moto.log", s->dir);
  int up = 0;
  for (int attempt = 0; attempt < 3 && !up; attempt++) {
    s->port = srv_free_port();
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    char *argv[] = { moto, "-H", "127.0.0.1", "-p", port, NULL };
    s->pid = srv_spawn(argv, log);
    /* Python and Flask take seconds to start on a loaded machine. */
    up = srv_wait_port(s->port, s->pid, 60000) == 0;
    if (!up) srv_stop(s->pid);     /* the port was taken in between */
  }
  if (!up) {
    s->pid = 0;
    snprintf(why, whylen, "moto_server did not start (see %s/moto.log)",
             s->dir);
    free(moto);
    free(python);
    return -1;
  }
  snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "'%s' '%s/tests/servers/moto_s3_setup.py' %s 2>'%s/setup.log'",
           python, WEIR_TEST_SOURCE_DIR, s->url, s->dir);
  free(moto);
  free(python);
  FILE *p = popen(cmd, "r");
  int got = p && fscanf(p, "%63s %127s", s->access_key, s->secret_key) == 2;
  int rc = p ? pclose(p) : -1;
  if (!got || rc != 0) {
    snprintf(why, whylen, "moto_s3_setup.py could not prepare moto (see "
             "%s/setup.log)", s->dir);
    return -1;
  }
  return 0;
}
#endif

/* Whether a test may skip when its server or tool is missing: only when
 * WEIR_TEST_ALLOW_SKIP=1 asks for it (a developer machine). Anywhere else,
 * CI included, a missing server fails the test, because a skipped suite is
 * invisible in a green run. */
static inline int srv_skip_allowed(void) {
  const char *v = getenv("WEIR_TEST_ALLOW_SKIP");
  return v && strcmp(v, "1") == 0;
}

/* Ends the test because a server or tool it needs is missing (`why` says
 * which and how to install it): a failure, or a skip under
 * WEIR_TEST_ALLOW_SKIP=1. */
#define srv_missing(why)                                                      \
  do {                                                                        \
    const char *srv_why_ = (why);                                             \
    if (srv_skip_allowed())                                                   \
      cr_skip_test("%s", srv_why_);                                           \
    else                                                                      \
      cr_assert_fail("%s (set WEIR_TEST_ALLOW_SKIP=1 to skip instead)",       \
                     srv_why_);                                               \
  } while (0)

static inline void srv_proc_stop(srv_proc *s) {
  srv_stop(s->pid);
  s->pid = 0;
  srv_rm_rf(s->dir);
  free(s->dir);
  s->dir = NULL;
}

#endif /* WEIR_TESTS_SERVERS_H */
