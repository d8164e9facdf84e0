// The kernel's share of a first label, with no parsing at all (issue 16): what the crash-safe
// rewrite of a small file costs in system calls alone, timed as exiv2_xmp.cpp times libexiv2.
// Each round copies ORIGINAL to FILE (not timed), then (timed) reads FILE whole, creates a
// temporary file beside it, writes the bytes and EXTRA more (the label's) in one write, gives
// it mode 0644, renames it over FILE and closes it: the calls our rewrite makes, without
// detecting, planning or checking anything. Prints the median wall-clock and the median CPU
// time (user and system, of the process) per write, in microseconds.
// Usage: replace_floor ORIGINAL FILE ROUNDS [EXTRA]
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double micros(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int by_value(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

static char data[8 << 20];

static void copy_file(const char* from, const char* to) {
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ssize_t n;
    while (in >= 0 && out >= 0 && (n = read(in, data, sizeof data)) > 0) {
        if (write(out, data, n) != n) break;
    }
    close(in);
    close(out);
}

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: replace_floor ORIGINAL FILE ROUNDS [EXTRA]\n");
        return 2;
    }
    int rounds = atoi(argv[3]);
    size_t extra = argc > 4 ? (size_t)atoi(argv[4]) : 9326;
    double* wall = calloc(rounds, sizeof(double));
    double* cpu = calloc(rounds, sizeof(double));
    char temp[4096];
    for (int i = 0; i < rounds; ++i) {
        copy_file(argv[1], argv[2]);
        snprintf(temp, sizeof temp, "%s.floor-%d.tmp", argv[2], i);
        double start = micros(CLOCK_MONOTONIC), start_cpu = micros(CLOCK_PROCESS_CPUTIME_ID);
        int in = open(argv[2], O_RDONLY);
        struct stat st;
        fstat(in, &st);
        ssize_t n = read(in, data, sizeof data - extra);
        close(in);
        int out = open(temp, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (n < 0 || write(out, data, n + extra) < 0 || fchmod(out, 0644) || rename(temp, argv[2])) {
            perror("replace_floor");
            return 1;
        }
        close(out);
        wall[i] = micros(CLOCK_MONOTONIC) - start;
        cpu[i] = micros(CLOCK_PROCESS_CPUTIME_ID) - start_cpu;
    }
    qsort(wall, rounds, sizeof(double), by_value);
    qsort(cpu, rounds, sizeof(double), by_value);
    printf("%.1f %.1f\n", wall[rounds / 2], cpu[rounds / 2]);
    return 0;
}
