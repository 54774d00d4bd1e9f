/*
 * Tailor cloud-init: applies #cloud-config user data at boot.
 *
 * The host passes the user data with `tailor run --user-data FILE`, i.e.
 * QEMU `-fw_cfg name=opt/tailor/user-data,file=FILE`. We read it from the
 * qemu_fw_cfg sysfs file when the kernel driver found the device (it needs
 * ACPI or a device tree), else straight from the fw_cfg I/O ports 0x510/0x511
 * (x86; works with acpi=off, which microvm boots use). `/cloud-init FILE`
 * reads FILE instead (host tests).
 *
 * Supported subset of #cloud-config (anything else is an error naming the
 * key: never silently ignored):
 *   hostname: NAME
 *   write_files:            list of {path (absolute), content, permissions}
 *     - path: /etc/app.conf
 *       permissions: '0644' (octal; default 0644)
 *       content: |          block scalar (| or |-) or a plain/quoted scalar
 *         text
 *   env:                    map NAME: value, set for the runcmd commands
 *     NAME: value
 *   runcmd:                 list of strings; each runs with /bin/sh -c when
 *     - echo hi             /bin/sh exists, else split on blanks and execv'd
 * Everything is parsed before anything is applied, so a bad document changes
 * nothing. Order: hostname, write_files, env, runcmd (all commands run).
 * Exit status: 0; 2 bad user data; 1 a setup step failed; else the first
 * failing command's status (127 cannot run, 128+N killed by signal N).
 * No user data: a note, status 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <sys/io.h>
#endif

#define FW_CFG_NAME "opt/tailor/user-data"
#define SYSFS_PATH "/sys/firmware/qemu_fw_cfg/by_name/" FW_CFG_NAME "/raw"
#define MAX_DATA (1u << 20)
#define MAX_ITEMS 64
#define MAX_ARGS 32

/* One formatted line per write(2), so the console never interleaves halves. */
static void say(int fd, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof buf - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  if (write(fd, buf, (size_t)n) < 0) { /* nowhere to report it */ }
}
#define note(...) say(STDOUT_FILENO, "cloud-init: " __VA_ARGS__)
#define fail(...) say(STDERR_FILENO, "tailor:error cloud-init: " __VA_ARGS__)

/* ---- reading the user data ---- */

static char *read_fd(int fd, size_t *len) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  if (!buf) return NULL;
  for (;;) {
    if (n == cap) {
      if (cap >= MAX_DATA) { free(buf); errno = EFBIG; return NULL; }
      cap *= 2;
      char *bigger = realloc(buf, cap + 1);
      if (!bigger) { free(buf); return NULL; }
      buf = bigger;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) { free(buf); return NULL; }
    if (r == 0) break;
    n += (size_t)r;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

static char *read_path(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  char *data = read_fd(fd, len);
  int saved = errno;
  close(fd);
  errno = saved;
  return data;
}

#if defined(__x86_64__) || defined(__i386__)
/* QEMU fw_cfg over I/O ports: 16-bit selector at 0x510, data bytes at 0x511; directory fields are big-endian. */
static void fwcfg_read(void *dst, size_t n) {
  unsigned char *p = dst;
  for (size_t i = 0; i < n; i++) p[i] = inb(0x511);
}
static uint32_t be32(const unsigned char *b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }

/* 1 found (data set), 0 no such file, -1 no fw_cfg device reachable. */
static int fwcfg_ioport(const char *name, char **data, size_t *len) {
  if (ioperm(0x510, 2, 1) != 0) return -1;
  unsigned char sig[4];
  outw(0x0000, 0x510);
  fwcfg_read(sig, 4);
  if (memcmp(sig, "QEMU", 4) != 0) return -1;
  unsigned char b[4];
  outw(0x0019, 0x510); /* FW_CFG_FILE_DIR */
  fwcfg_read(b, 4);
  uint32_t count = be32(b);
  for (uint32_t i = 0; i < count && i < 4096; i++) {
    unsigned char e[64];
    fwcfg_read(e, sizeof e);
    char fname[57];
    memcpy(fname, e + 8, 56);
    fname[56] = '\0';
    if (strcmp(fname, name) != 0) continue;
    uint32_t size = be32(e);
    if (size > MAX_DATA) { errno = EFBIG; return -1; }
    char *buf = malloc((size_t)size + 1);
    if (!buf) return -1;
    outw((unsigned short)(e[4] << 8 | e[5]), 0x510);
    fwcfg_read(buf, size);
    buf[size] = '\0';
    *data = buf;
    *len = size;
    return 1;
  }
  return 0;
}
#else
static int fwcfg_ioport(const char *name, char **data, size_t *len) {
  (void)name, (void)data, (void)len;
  return -1;
}
#endif

/* ---- the #cloud-config subset ---- */

struct line { char *text; int indent; int no; };
struct file { const char *path; char *content; size_t len; mode_t mode; };
struct env { const char *name, *value; };

static struct line *lines;
static int nlines;
static const char *hostname;
static struct file files[MAX_ITEMS];
static int nfiles;
static struct env envs[MAX_ITEMS];
static int nenvs;
static const char *cmds[MAX_ITEMS];
static int ncmds;

static int is_blank(const struct line *l) { return l->text[0] == '\0'; }
static int is_ignorable(const struct line *l) { return is_blank(l) || l->text[0] == '#'; }

/* Splits the document into lines (in place), recording each line's indentation. */
static int split_lines(char *data) {
  int cap = 16;
  lines = malloc(sizeof *lines * (size_t)cap);
  if (!lines) return -1;
  int no = 0;
  for (char *p = data; *p;) {
    char *end = strchr(p, '\n');
    if (end) *end = '\0';
    size_t n = strlen(p);
    while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t')) p[--n] = '\0';
    if (nlines == cap) {
      cap *= 2;
      struct line *bigger = realloc(lines, sizeof *lines * (size_t)cap);
      if (!bigger) return -1;
      lines = bigger;
    }
    int indent = 0;
    while (p[indent] == ' ') indent++;
    if (p[indent] == '\t') {
      fail("line %d: a tab in the indentation (YAML indents with spaces)", no + 1);
      return -1;
    }
    lines[nlines++] = (struct line){ p + indent, indent, ++no };
    if (!end) break;
    p = end + 1;
  }
  return 0;
}

/* A scalar after `key:` or `- `: 'single' ('' = '), "double" (\" \\ \n \t), or plain (up to a ` #` comment). */
static char *scalar(char *s, int no) {
  while (*s == ' ') s++;
  if (*s == '\'' || *s == '"') {
    char q = *s, *out = s, *in = s + 1;
    for (;; in++) {
      if (*in == '\0') { fail("line %d: unterminated %c-quoted string", no, q); return NULL; }
      if (*in == q) {
        if (q == '\'' && in[1] == '\'') { *out++ = '\''; in++; continue; }
        break;
      }
      if (q == '"' && *in == '\\' && in[1]) {
        in++;
        *out++ = *in == 'n' ? '\n' : *in == 't' ? '\t' : *in;
        continue;
      }
      *out++ = *in;
    }
    char *rest = in + 1;
    while (*rest == ' ') rest++;
    if (*rest && *rest != '#') { fail("line %d: unexpected text after the quoted string: %s", no, rest); return NULL; }
    *out = '\0';
    return s;
  }
  char *hash = strstr(s, " #");
  if (hash) *hash = '\0';
  size_t n = strlen(s);
  while (n && s[n - 1] == ' ') s[--n] = '\0';
  return s;
}

/* Splits `key: rest` in place; NULL (and an error) when the line is not a mapping entry. */
static char *split_key(char *text, int no, char **rest) {
  char *colon = strchr(text, ':');
  if (!colon || (colon[1] != '\0' && colon[1] != ' ')) {
    fail("line %d: expected `key: value`, got: %s", no, text);
    return NULL;
  }
  *colon = '\0';
  *rest = colon + 1;
  while (**rest == ' ') (*rest)++;
  return text;
}

/* The lines of a block scalar (| or |-) after line i, more indented than keyIndent; sets *next. */
static char *block_scalar(int i, int keyIndent, int chomp, size_t *len, int *next) {
  int j = i + 1, blockIndent = -1;
  size_t size = 1;
  for (; j < nlines; j++) {
    if (is_blank(&lines[j])) continue;
    if (lines[j].indent <= keyIndent) break;
    if (blockIndent < 0) blockIndent = lines[j].indent;
    if (lines[j].indent < blockIndent) break;
    size += strlen(lines[j].text) + (size_t)(lines[j].indent - blockIndent) + 1;
  }
  int end = j;
  char *buf = malloc(size + (size_t)(end - i));
  if (!buf) return NULL;
  size_t n = 0;
  for (int k = i + 1; k < end; k++) {
    if (!is_blank(&lines[k])) {
      for (int s = blockIndent; s < lines[k].indent; s++) buf[n++] = ' ';
      size_t t = strlen(lines[k].text);
      memcpy(buf + n, lines[k].text, t);
      n += t;
    }
    buf[n++] = '\n';
  }
  // `|` keeps one final newline, `|-` none (YAML "clip" and "strip").
  while (n && buf[n - 1] == '\n') n--;
  if (!chomp && n) buf[n++] = '\n';
  buf[n] = '\0';
  *len = n;
  *next = end;
  return buf;
}

/* Is line j still inside the value of a top-level key (indented, or a `-` list item at column 0)? */
static int inside(int j) { return is_ignorable(&lines[j]) || lines[j].indent > 0 || lines[j].text[0] == '-'; }

static int is_item(const struct line *l) { return l->text[0] == '-' && (l->text[1] == ' ' || l->text[1] == '\0'); }

static int parse_write_files(int i, int *next) {
  int j = i + 1;
  while (j < nlines && inside(j)) {
    if (is_ignorable(&lines[j])) { j++; continue; }
    if (!is_item(&lines[j])) { fail("line %d: write_files: expected a list item `- path: ...`", lines[j].no); return -1; }
    if (nfiles == MAX_ITEMS) { fail("line %d: write_files: more than %d files", lines[j].no, MAX_ITEMS); return -1; }
    struct file *f = &files[nfiles++];
    f->mode = 0644;
    int dash = lines[j].indent;
    // The first key sits on the dash line; its column is the item's key column.
    char *t = lines[j].text + 1;
    while (*t == ' ') t++;
    int keyIndent = dash + (int)(t - lines[j].text);
    lines[j].text = t;
    lines[j].indent = keyIndent;
    while (j < nlines) {
      struct line *l = &lines[j];
      if (is_ignorable(l)) { j++; continue; }
      if (l->indent != keyIndent) break;
      char *rest, *key = split_key(l->text, l->no, &rest);
      if (!key) return -1;
      int no = l->no;
      j++;
      if (strcmp(key, "content") == 0) {
        if (strcmp(rest, "|") == 0 || strcmp(rest, "|-") == 0) {
          f->content = block_scalar(j - 1, keyIndent, rest[1] == '-', &f->len, &j);
          if (!f->content) return -1;
        } else if (rest[0] == '>' || rest[0] == '|') {
          fail("line %d: write_files: content %s: only the block styles | and |- are supported", no, rest);
          return -1;
        } else {
          char *v = scalar(rest, no);
          if (!v) return -1;
          f->content = v;
          f->len = strlen(v);
        }
      } else if (strcmp(key, "path") == 0) {
        char *v = scalar(rest, no);
        if (!v) return -1;
        if (v[0] != '/') { fail("line %d: write_files: path '%s' must be absolute", no, v); return -1; }
        f->path = v;
      } else if (strcmp(key, "permissions") == 0) {
        char *v = scalar(rest, no), *end;
        if (!v) return -1;
        long mode = strtol(v, &end, 8);
        if (*v == '\0' || *end || mode < 0 || mode > 07777) {
          fail("line %d: write_files: permissions '%s' is not an octal mode such as '0644'", no, v);
          return -1;
        }
        f->mode = (mode_t)mode;
      } else {
        fail("line %d: write_files: unsupported key '%s' (supported: path, content, permissions)", no, key);
        return -1;
      }
    }
    if (!f->path) { fail("line %d: write_files: an entry has no path", lines[j - 1].no); return -1; }
    if (!f->content) f->content = "";
  }
  *next = j;
  return 0;
}

static int parse_runcmd(int i, int *next) {
  int j = i + 1;
  for (; j < nlines && inside(j); j++) {
    struct line *l = &lines[j];
    if (is_ignorable(l)) continue;
    if (!is_item(l)) { fail("line %d: runcmd: expected a list item `- command`", l->no); return -1; }
    char *v = scalar(l->text + 1, l->no);
    if (!v) return -1;
    if (v[0] == '[') { fail("line %d: runcmd: list-form commands are not supported; write the command as one string", l->no); return -1; }
    if (v[0] == '\0') { fail("line %d: runcmd: empty command", l->no); return -1; }
    if (ncmds == MAX_ITEMS) { fail("line %d: runcmd: more than %d commands", l->no, MAX_ITEMS); return -1; }
    cmds[ncmds++] = v;
  }
  *next = j;
  return 0;
}

static int parse_env(int i, int *next) {
  int j = i + 1;
  for (; j < nlines && inside(j); j++) {
    struct line *l = &lines[j];
    if (is_ignorable(l)) continue;
    if (l->indent == 0) { fail("line %d: env: expected indented `NAME: value` entries", l->no); return -1; }
    char *rest, *key = split_key(l->text, l->no, &rest);
    if (!key) return -1;
    if (key[0] == '\0' || strchr(key, '=')) { fail("line %d: env: bad variable name '%s'", l->no, key); return -1; }
    char *v = scalar(rest, l->no);
    if (!v) return -1;
    if (nenvs == MAX_ITEMS) { fail("line %d: env: more than %d variables", l->no, MAX_ITEMS); return -1; }
    envs[nenvs++] = (struct env){ key, v };
  }
  *next = j;
  return 0;
}

/* 0 ok; -1 bad document (an error line was printed). */
static int parse(char *data) {
  if (split_lines(data) != 0) return -1;
  int i = 0;
  while (i < nlines && is_blank(&lines[i])) i++;
  if (i == nlines || strcmp(lines[i].text, "#cloud-config") != 0 || lines[i].indent != 0) {
    fail("the user data does not start with #cloud-config (only cloud-config documents are supported)");
    return -1;
  }
  for (i++; i < nlines;) {
    struct line *l = &lines[i];
    if (is_ignorable(l)) { i++; continue; }
    if (l->indent != 0) { fail("line %d: unexpected indentation: %s", l->no, l->text); return -1; }
    char *rest, *key = split_key(l->text, l->no, &rest);
    if (!key) return -1;
    int no = l->no;
    if (strcmp(key, "hostname") == 0) {
      char *v = scalar(rest, no);
      if (!v) return -1;
      if (!*v) { fail("line %d: hostname: empty value", no); return -1; }
      hostname = v;
      i++;
      continue;
    }
    int isList = strcmp(key, "write_files") == 0 || strcmp(key, "runcmd") == 0 || strcmp(key, "env") == 0;
    if (!isList) {
      fail("line %d: unsupported key '%s' (supported: hostname, write_files, env, runcmd)", no, key);
      return -1;
    }
    if (*rest && *rest != '#') { fail("line %d: %s: put its entries on the following indented lines", no, key); return -1; }
    int r = strcmp(key, "write_files") == 0 ? parse_write_files(i, &i) : strcmp(key, "runcmd") == 0 ? parse_runcmd(i, &i) : parse_env(i, &i);
    if (r != 0) return -1;
  }
  return 0;
}

/* ---- applying it ---- */

static int mkdir_parents(const char *path) {
  char buf[4096];
  if (strlen(path) >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
  strcpy(buf, path);
  for (char *p = buf + 1; (p = strchr(p, '/')); p++) {
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return 0;
}

/* Written to a temporary sibling and renamed, so a reader never sees half a file. */
static int write_file(const struct file *f) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.cloud-init-tmp", f->path);
  if (mkdir_parents(f->path) != 0) return -1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  size_t off = 0;
  while (off < f->len) {
    ssize_t w = write(fd, f->content + off, f->len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) { int e = errno; close(fd); unlink(tmp); errno = e; return -1; }
    off += (size_t)w;
  }
  if (fchmod(fd, f->mode) != 0 || close(fd) != 0 || rename(tmp, f->path) != 0) { int e = errno; unlink(tmp); errno = e; return -1; }
  return 0;
}

/* Runs one command; its exit status (127 cannot run, 128+N killed by signal N). */
static int run_command(const char *cmd) {
  int useShell = access("/bin/sh", X_OK) == 0;
  char copy[4096], *argv[MAX_ARGS + 1];
  int argc = 0;
  if (!useShell) {
    snprintf(copy, sizeof copy, "%s", cmd);
    for (char *tok = strtok(copy, " \t"); tok && argc < MAX_ARGS; tok = strtok(NULL, " \t")) argv[argc++] = tok;
    argv[argc] = NULL;
  }
  pid_t pid = fork();
  if (pid < 0) { fail("cannot fork for runcmd '%s': %s", cmd, strerror(errno)); return 1; }
  if (pid == 0) {
    if (useShell) execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    else execv(argv[0], argv);
    fail("cannot run '%s': %s%s", useShell ? "/bin/sh" : argv[0], strerror(errno), useShell ? "" : " (no /bin/sh: commands are split on blanks and need a full path)");
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int apply(void) {
  if (hostname) {
    if (sethostname(hostname, strlen(hostname)) != 0) { fail("hostname '%s': %s", hostname, strerror(errno)); return 1; }
    note("hostname %s", hostname);
  }
  for (int i = 0; i < nfiles; i++) {
    if (write_file(&files[i]) != 0) { fail("cannot write %s: %s", files[i].path, strerror(errno)); return 1; }
    note("wrote %s (%zu bytes, mode %04o)", files[i].path, files[i].len, (unsigned)files[i].mode);
  }
  for (int i = 0; i < nenvs; i++) setenv(envs[i].name, envs[i].value, 1);
  int first = 0;
  for (int i = 0; i < ncmds; i++) {
    note("runcmd %d/%d: %s", i + 1, ncmds, cmds[i]);
    int st = run_command(cmds[i]);
    if (st != 0) {
      note("runcmd %d exited with status %d", i + 1, st);
      if (first == 0) first = st;
    }
  }
  return first;
}

int main(int argc, char **argv) {
  size_t len = 0;
  char *data = NULL;
  if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
    say(STDERR_FILENO, "usage: %s [USER-DATA-FILE]   (default: QEMU fw_cfg %s)", argv[0], FW_CFG_NAME);
    return 2;
  }
  if (argc == 2) {
    data = read_path(argv[1], &len);
    if (!data) { fail("cannot read %s: %s", argv[1], strerror(errno)); return 1; }
  } else {
    const char *from = "fw_cfg sysfs";
    data = read_path(SYSFS_PATH, &len);
    if (!data && errno == EFBIG) { fail("user data larger than %u bytes", MAX_DATA); return 2; }
    if (!data) {
      from = "fw_cfg I/O ports";
      int r = fwcfg_ioport(FW_CFG_NAME, &data, &len);
      if (r < 0 && errno == EFBIG) { fail("user data larger than %u bytes", MAX_DATA); return 2; }
      if (r <= 0) {
        note("no user data (give it with: tailor run --user-data FILE); nothing to do");
        return 0;
      }
    }
    note("user data: %zu bytes from %s", len, from);
  }
  if (memchr(data, '\0', len)) { fail("the user data contains a NUL byte (a #cloud-config text is expected)"); return 2; }
  if (parse(data) != 0) return 2;
  return apply();
}
