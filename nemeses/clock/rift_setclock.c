/*
 * rift-setclock: moves this host's CLOCK_REALTIME by a signed number of nanoseconds.
 *
 *   rift-setclock DELTA_NS
 *
 * Used by rift's `system` clock strategy on dedicated hosts only (rift refuses it on a host
 * that shares the controller's kernel). Reads the clock and sets it in one step each, so the
 * error is the time between the two calls (microseconds). Prints the new time in nanoseconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DELTA_NS\n", argv[0]);
        return 2;
    }
    char *end;
    errno = 0;
    long long delta = strtoll(argv[1], &end, 10);
    if (errno || *end || end == argv[1]) {
        fprintf(stderr, "%s: %s is not a number of nanoseconds\n", argv[0], argv[1]);
        return 2;
    }
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) != 0) {
        perror("clock_gettime");
        return 1;
    }
    long long ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec + delta;
    struct timespec next = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
    if (next.tv_nsec < 0) {
        next.tv_nsec += 1000000000LL;
        next.tv_sec -= 1;
    }
    if (clock_settime(CLOCK_REALTIME, &next) != 0) {
        fprintf(stderr, "%s: clock_settime: %s\n", argv[0], strerror(errno));
        return 1;
    }
    printf("%lld\n", ns);
    return 0;
}
