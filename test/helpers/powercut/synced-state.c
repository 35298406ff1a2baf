// Power-cut simulation, preloaded (LD_PRELOAD) into the process under test: each time a regular
// file under $POWERCUT_DIR is fsynced or fdatasynced, a copy of its whole content is kept under
// $POWERCUT_SHADOW (the state a power cut leaves it in from now on). rename() and unlink() carry
// or drop that copy with the name. After the process is killed, rollback.ts puts every file back
// to its copy (or empties a file that was never synced): what was written but not synced is gone.
// Model and limits: see test/powercut/README.md.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// Recursive: keeping a state renames its temp copy through our own rename().
static pthread_mutex_t lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

// The shadow file of `path` when it lies under $POWERCUT_DIR: its relative path, '/' → '%'.
static int shadow_of(const char *path, char *out, size_t size) {
  const char *dir = env("POWERCUT_DIR"), *shadow = env("POWERCUT_SHADOW");
  if (!dir || !shadow) return 0;
  char real[2 * PATH_MAX];
  if (path[0] != '/') {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return 0;
    snprintf(real, sizeof real, "%s/%s", cwd, path);
  } else {
    snprintf(real, sizeof real, "%s", path);
  }
  size_t n = strlen(dir);
  if (strncmp(real, dir, n) != 0 || real[n] != '/') return 0;
  int len = snprintf(out, size, "%s/", shadow);
  for (const char *p = real + n + 1; *p && len < (int)size - 1; p++) out[len++] = *p == '/' ? '%' : *p;
  out[len] = 0;
  return 1;
}

// Copies the file's current content to its shadow (temp + rename: a kill mid-copy keeps the old one).
static void keep_synced_state(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
  char link[64], path[PATH_MAX], shadow[PATH_MAX], tmp[PATH_MAX + 8];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return;
  path[n] = 0;
  if (!shadow_of(path, shadow, sizeof shadow)) return;
  snprintf(tmp, sizeof tmp, "%s.tmp", shadow);
  int in = open(path, O_RDONLY | O_CLOEXEC);
  if (in < 0) return;
  int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out >= 0) {
    char buf[1 << 16];
    ssize_t r;
    int ok = 1;
    while ((r = read(in, buf, sizeof buf)) > 0) {
      if (write(out, buf, (size_t)r) != r) { ok = 0; break; }
    }
    close(out);
    if (ok && r == 0) rename(tmp, shadow); else unlink(tmp);
  }
  close(in);
}

#define REAL(ret, name, ...) \
  static ret (*real_##name)(__VA_ARGS__); \
  if (!real_##name) real_##name = (ret (*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

int fsync(int fd) {
  REAL(int, fsync, int);
  int r = real_fsync(fd);
  if (r == 0) { pthread_mutex_lock(&lock); keep_synced_state(fd); pthread_mutex_unlock(&lock); }
  return r;
}

int fdatasync(int fd) {
  REAL(int, fdatasync, int);
  int r = real_fdatasync(fd);
  if (r == 0) { pthread_mutex_lock(&lock); keep_synced_state(fd); pthread_mutex_unlock(&lock); }
  return r;
}

int rename(const char *from, const char *to) {
  REAL(int, rename, const char *, const char *);
  pthread_mutex_lock(&lock);
  int r = real_rename(from, to);
  char a[PATH_MAX], b[PATH_MAX];
  if (r == 0 && shadow_of(to, b, sizeof b)) {
    // The name now stands for the renamed file: its synced state (none if it was never synced).
    if (!shadow_of(from, a, sizeof a) || real_rename(a, b) != 0) unlink(b);
  }
  pthread_mutex_unlock(&lock);
  return r;
}

int unlink(const char *path) {
  REAL(int, unlink, const char *);
  pthread_mutex_lock(&lock);
  int r = real_unlink(path);
  char s[PATH_MAX];
  if (r == 0 && shadow_of(path, s, sizeof s)) real_unlink(s);
  pthread_mutex_unlock(&lock);
  return r;
}
