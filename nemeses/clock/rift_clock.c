/*
 * rift's per-process clock: an LD_PRELOAD library that offsets CLOCK_REALTIME for the process
 * it is loaded into, by a number of nanoseconds read from a file that can change while the
 * process runs.
 *
 * Why not libfaketime: it interposes libc only, so Go programs (which call the vDSO directly)
 * never see it, and jemalloc deadlocks under its pthread interposition. This library instead
 * patches the vDSO itself: its constructor finds the vDSO's clock_gettime, gettimeofday and
 * time entry points and writes a jump to the functions below at each (through /proc/self/mem,
 * as the kernel will not make the vDSO writable). It also defines the libc symbols, for
 * programs that call libc. The replacements use raw system calls only (no libc, no errno, no
 * locks, little stack), since they may run on a Go runtime stack or inside an allocator.
 *
 * The offset file (path in RIFT_CLOCK_OFFSET_FILE) holds a signed decimal number of
 * nanoseconds; it is re-read at most every 10 ms (by CLOCK_MONOTONIC); a missing or unreadable
 * file means 0. Only CLOCK_REALTIME and CLOCK_REALTIME_COARSE are offset: monotonic clocks pass
 * through, as they do on a real machine whose wall clock is wrong. x86-64 Linux only.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#define RECHECK_NS 10000000LL

static char offset_path[4096];
static volatile int64_t cached_offset;
static volatile int64_t next_check = -1;

static inline long sys1(long n, long a) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a) : "rcx", "r11", "memory");
    return r;
}
static inline long sys2(long n, long a, long b) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return r;
}
static inline long sys3(long n, long a, long b, long c) {
    long r;
    register long rdx __asm__("rdx") = c;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "r"(rdx) : "rcx", "r11", "memory");
    return r;
}

static int64_t read_offset_file(void) {
    char buf[40];
    long fd = sys3(SYS_open, (long)offset_path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return 0;
    long n = sys3(SYS_read, fd, (long)buf, sizeof buf - 1);
    sys1(SYS_close, fd);
    if (n <= 0) return 0;
    int64_t v = 0;
    int i = 0, neg = 0;
    while (i < n && (buf[i] == ' ' || buf[i] == '\t')) i++;
    if (i < n && (buf[i] == '-' || buf[i] == '+')) neg = buf[i++] == '-';
    for (; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) v = v * 10 + (buf[i] - '0');
    return neg ? -v : v;
}

static int64_t offset_now(void) {
    struct timespec m;
    if (sys2(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&m) != 0) return cached_offset;
    int64_t now = (int64_t)m.tv_sec * 1000000000LL + m.tv_nsec;
    if (now >= next_check) {
        next_check = now + RECHECK_NS;
        cached_offset = read_offset_file();
    }
    return cached_offset;
}

static void shift(struct timespec *ts, int64_t offset) {
    int64_t ns = (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec + offset;
    int64_t sec = ns / 1000000000LL, rem = ns % 1000000000LL;
    if (rem < 0) { rem += 1000000000LL; sec -= 1; }
    ts->tv_sec = sec;
    ts->tv_nsec = rem;
}

/* The vDSO's calling convention: return 0 or a negative errno. */
static long rift_vdso_clock_gettime(long clk, struct timespec *ts) {
    long r = sys2(SYS_clock_gettime, clk, (long)ts);
    if (r == 0 && ts && (clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE)) shift(ts, offset_now());
    return r;
}

static long rift_vdso_gettimeofday(struct timeval *tv, void *tz) {
    if (tz) {
        long r = sys2(SYS_gettimeofday, 0, (long)tz);
        if (r != 0) return r;
    }
    if (tv) {
        struct timespec ts;
        long r = sys2(SYS_clock_gettime, CLOCK_REALTIME, (long)&ts);
        if (r != 0) return r;
        shift(&ts, offset_now());
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
    }
    return 0;
}

static long rift_vdso_time(long *t) {
    struct timespec ts;
    sys2(SYS_clock_gettime, CLOCK_REALTIME, (long)&ts);
    shift(&ts, offset_now());
    if (t) *t = ts.tv_sec;
    return ts.tv_sec;
}

/* The libc symbols, for programs that call libc (LD_PRELOAD puts these first). */
int clock_gettime(clockid_t clk, struct timespec *ts) {
    long r = rift_vdso_clock_gettime(clk, ts);
    if (r < 0) { errno = (int)-r; return -1; }
    return 0;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    long r = rift_vdso_gettimeofday(tv, tz);
    if (r < 0) { errno = (int)-r; return -1; }
    return 0;
}

time_t time(time_t *t) {
    return (time_t)rift_vdso_time((long *)t);
}

/*
 * Overwrites a vDSO function's first bytes with `movabs rax, target; jmp rax`. The kernel does
 * not let the vDSO be made writable with mprotect, but a write through /proc/self/mem is a
 * forced write, as a debugger's breakpoint is: the page is copied for this process alone.
 */
static int patch(uintptr_t at, uint64_t size, void *target) {
    unsigned char code[12] = {0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xe0};
    if (size < sizeof code) return -1;
    uint64_t addr = (uint64_t)target;
    memcpy(code + 2, &addr, 8);
    long fd = sys3(SYS_open, (long)"/proc/self/mem", O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) return -1;
    long r;
    register long r10 __asm__("r10") = (long)at;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(SYS_pwrite64), "D"(fd), "S"((long)code), "d"((long)sizeof code), "r"(r10)
                     : "rcx", "r11", "memory");
    sys1(SYS_close, fd);
    return r == (long)sizeof code ? 0 : -1;
}

static void patch_vdso(void) {
    uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
    if (!base) return;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
    uintptr_t load = 0;
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD) { load = ph[i].p_vaddr; break; }
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(base + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_DYNSYM) continue;
        const Elf64_Sym *syms = (const Elf64_Sym *)(base + sh[i].sh_offset);
        const char *names = (const char *)(base + sh[sh[i].sh_link].sh_offset);
        size_t count = sh[i].sh_size / sizeof(Elf64_Sym);
        for (size_t j = 0; j < count; j++) {
            const char *name = names + syms[j].st_name;
            void *target = 0;
            if (!strcmp(name, "__vdso_clock_gettime") || !strcmp(name, "clock_gettime"))
                target = (void *)rift_vdso_clock_gettime;
            else if (!strcmp(name, "__vdso_gettimeofday") || !strcmp(name, "gettimeofday"))
                target = (void *)rift_vdso_gettimeofday;
            else if (!strcmp(name, "__vdso_time") || !strcmp(name, "time"))
                target = (void *)rift_vdso_time;
            if (target && syms[j].st_value)
                patch(base + syms[j].st_value - load, syms[j].st_size, target);
        }
    }
}

__attribute__((constructor)) static void rift_clock_init(void) {
    const char *path = getenv("RIFT_CLOCK_OFFSET_FILE");
    if (!path || !*path || strlen(path) >= sizeof offset_path) return;
    memcpy(offset_path, path, strlen(path) + 1);
    patch_vdso();
}
