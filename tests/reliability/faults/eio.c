/* An LD_PRELOAD shim that makes fsync and fdatasync of a file ("fsync") or of a directory
 * ("dirsync"), and rename ("rename"), fail with EIO on oxstore's data files (paths holding
 * /.oxstore/tmp/ or /.oxstore/objects/) while a file of that name exists in the directory
 * $OXSTORE_FAULTS: disk errors a test arms and disarms at will. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int armed(const char *call) {
    const char *dir = getenv("OXSTORE_FAULTS");
    char path[4096];
    if (dir == NULL) return 0;
    snprintf(path, sizeof path, "%s/%s", dir, call);
    return access(path, F_OK) == 0;
}

static int data_path(const char *path) {
    return strstr(path, "/.oxstore/tmp/") != NULL || strstr(path, "/.oxstore/objects/") != NULL;
}

static const char *sync_kind(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) ? "dirsync" : "fsync";
}

static int data_fd(int fd) {
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0) return 0;
    target[n] = '\0';
    return data_path(target);
}

/* fsync or fdatasync (`name`) of fd: EIO when armed for it, the real call otherwise. */
static int sync_or_fail(const char *name, int (**real)(int), int fd) {
    if (*real == NULL) *real = (int (*)(int))dlsym(RTLD_NEXT, name);
    if (armed(sync_kind(fd)) && data_fd(fd)) {
        errno = EIO;
        return -1;
    }
    return (*real)(fd);
}

int fsync(int fd) {
    static int (*real)(int);
    return sync_or_fail("fsync", &real, fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    return sync_or_fail("fdatasync", &real, fd);
}

int rename(const char *from, const char *to) {
    static int (*real)(const char *, const char *);
    if (real == NULL) real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    if (armed("rename") && data_path(to)) {
        errno = EIO;
        return -1;
    }
    return real(from, to);
}
