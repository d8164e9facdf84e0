// The same XMP write as benches/examples/small_inplace.rs, done in process by libexiv2 (Debian's
// libexiv2-dev), so the two libraries are compared without process start-up: each round copies
// the original to FILE (not timed), then opens FILE, reads its metadata, sets one XMP property
// and writes the metadata back (timed). Prints the median wall-clock and the median CPU time
// (user and system, of the process) per write, in microseconds.
// Usage: exiv2_xmp ORIGINAL FILE ROUNDS
#include <exiv2/exiv2.hpp>
#include <algorithm>
#include <ctime>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

static void copy_file(const char* from, const char* to) {
    std::ifstream in(from, std::ios::binary);
    std::ofstream out(to, std::ios::binary | std::ios::trunc);
    out << in.rdbuf();
}

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: exiv2_xmp ORIGINAL FILE ROUNDS\n");
        return 2;
    }
    Exiv2::XmpParser::initialize();
    const int rounds = std::stoi(argv[3]);
    std::vector<double> wall, cpu;
    auto cpu_micros = [] {
        timespec now{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
        return now.tv_sec * 1e6 + now.tv_nsec / 1e3;
    };
    for (int i = 0; i < rounds; ++i) {
        copy_file(argv[1], argv[2]);
        auto start = std::chrono::steady_clock::now();
        double start_cpu = cpu_micros();
        auto image = Exiv2::ImageFactory::open(argv[2]);
        image->readMetadata();
        image->xmpData()["Xmp.dc.title"] = "bench-1";
        image->writeMetadata();
        auto end = std::chrono::steady_clock::now();
        cpu.push_back(cpu_micros() - start_cpu);
        wall.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
    std::sort(wall.begin(), wall.end());
    std::sort(cpu.begin(), cpu.end());
    std::printf("%.1f %.1f\n", wall[wall.size() / 2], cpu[cpu.size() / 2]);
    Exiv2::XmpParser::terminate();
    return 0;
}
