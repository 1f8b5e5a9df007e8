/* The bare baseline for a small commit: the system calls an atomic,
 * never-clobbering write needs and nothing else. Reads INPUT, creates
 * DIR/NAME.tmp exclusively, writes, fsyncs, renames it to DIR/NAME without
 * replacing (renameat2 RENAME_NOREPLACE), fsyncs DIR.
 *
 *   bare_write INPUT DIR NAME
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

static void die(const char *what) {
    perror(what);
    exit(2);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: bare_write INPUT DIR NAME\n");
        return 2;
    }
    static char buf[1 << 20];
    int in = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (in < 0) die("open input");
    ssize_t len = read(in, buf, sizeof buf);
    if (len < 0) die("read input");
    close(in);

    int dir = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) die("open dir");
    char temp[4096];
    snprintf(temp, sizeof temp, "%s.tmp", argv[3]);
    int fd = openat(dir, temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) die("create temp");
    for (ssize_t done = 0; done < len;) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n < 0) die("write");
        done += n;
    }
    if (fsync(fd) != 0) die("fsync temp");
    if (syscall(SYS_renameat2, dir, temp, dir, argv[3], RENAME_NOREPLACE) != 0) die("rename");
    if (fsync(dir) != 0) die("fsync dir");
    close(fd);
    close(dir);
    return 0;
}
