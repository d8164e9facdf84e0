/* Tests of the C ABI from C: every function, success and failure, and every allocation freed
 * (run under valgrind by `make valgrind`, which fails on any leak or memory error).
 *
 *   test SAMPLES_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigc_label.h"

static int failures = 0;
#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); failures++; } } while (0)

static const char *PRODUCER = "001191440300708461136T1XGW3";

static unsigned char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(n > 0 ? (size_t)n : 1);
    *len = data ? fread(data, 1, (size_t)n, f) : 0;
    fclose(f);
    return data;
}

static int contains(const char *haystack, const char *needle) {
    return haystack && strstr(haystack, needle) != NULL;
}

static void test_inspect_file(const char *samples) {
    static const char *names[] = {"sample.png", "sample.jpg", "sample.wav", "sample.mp3", "sample.flac",
                                  "sample.ogg", "sample.mp4", "sample.mkv", "sample.pdf", "sample.docx",
                                  "sample.md"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", samples, names[i]);
        char *json = NULL;
        AigcStatus status = aigc_inspect_file(path, &json);
        CHECK(status == AIGC_STATUS_OK);
        CHECK(contains(json, "\"verdict\":\""));
        CHECK(contains(json, "\"error\":null"));
        aigc_string_free(json);
        char *none = aigc_last_error();
        CHECK(none == NULL);
        aigc_string_free(none);
    }
}

static void test_embed_and_inspect_buffers(const char *samples) {
    char path[4096];
    snprintf(path, sizeof path, "%s/sample.png", samples);
    size_t len = 0;
    unsigned char *data = read_all(path, &len);
    CHECK(data != NULL && len > 8);

    unsigned char *out = NULL;
    size_t out_len = 0;
    char *json = NULL;
    AigcStatus status = aigc_embed_buffer(data, len, PRODUCER, "c-test-1", &out, &out_len, &json);
    CHECK(status == AIGC_STATUS_OK);
    CHECK(out != NULL && out_len > len);
    CHECK(contains(json, "\"result\":\"labelled\""));
    aigc_string_free(json);

    status = aigc_inspect_buffer(out, out_len, "memory.png", &json);
    CHECK(status == AIGC_STATUS_OK);
    CHECK(contains(json, "\"file\":\"memory.png\""));
    CHECK(contains(json, "\"verdict\":\"compliant\""));
    CHECK(contains(json, "\"ProduceID\":\"c-test-1\""));
    aigc_string_free(json);

    /* Another producer may not replace the label: nothing is handed over. */
    unsigned char *again = (unsigned char *)1;
    size_t again_len = 99;
    status = aigc_embed_buffer(out, out_len, "001191440300708461136T1XGW4", "x", &again, &again_len, &json);
    CHECK(status == AIGC_STATUS_ALREADY_LABELLED);
    CHECK(again == NULL && again_len == 0);
    CHECK(contains(json, "\"result\":\"failed\""));
    aigc_string_free(json);
    char *message = aigc_last_error();
    CHECK(contains(message, "already carries a label"));
    aigc_string_free(message);

    /* A producer that is not a valid code. */
    status = aigc_embed_buffer(data, len, "not-a-code", "x", &again, &again_len, &json);
    CHECK(status == AIGC_STATUS_INVALID_LABEL);
    aigc_string_free(json);

    /* A truncated file. */
    status = aigc_inspect_buffer(data, 40, NULL, &json);
    CHECK(status == AIGC_STATUS_MALFORMED);
    CHECK(contains(json, "\"verdict\":\"unreadable\""));
    CHECK(contains(json, "\"file\":\"-\""));
    aigc_string_free(json);

    aigc_buffer_free(out, out_len);
    free(data);
}

static void test_embed_file(const char *samples, const char *tmpdir) {
    char in[4096], out[4096];
    snprintf(in, sizeof in, "%s/sample.wav", samples);
    snprintf(out, sizeof out, "%s/labelled.wav", tmpdir);
    char *json = NULL;
    AigcStatus status = aigc_embed_file(in, out, PRODUCER, "c-test-wav", &json);
    CHECK(status == AIGC_STATUS_OK);
    CHECK(contains(json, "\"result\":\"labelled\""));
    aigc_string_free(json);

    status = aigc_inspect_file(out, &json);
    CHECK(status == AIGC_STATUS_OK);
    CHECK(contains(json, "\"ProduceID\":\"c-test-wav\""));
    aigc_string_free(json);
    remove(out);

    status = aigc_embed_file("/nonexistent/in.png", out, PRODUCER, "x", &json);
    CHECK(status == AIGC_STATUS_IO);
    aigc_string_free(json);
}

static void test_bad_arguments(void) {
    char *json = (char *)1;
    CHECK(aigc_inspect_file(NULL, &json) == AIGC_STATUS_INVALID_ARGUMENT);
    CHECK(json == NULL);
    char *message = aigc_last_error();
    CHECK(contains(message, "NULL"));
    aigc_string_free(message);
    CHECK(aigc_inspect_file("x", NULL) == AIGC_STATUS_INVALID_ARGUMENT);
    CHECK(aigc_inspect_buffer(NULL, 10, NULL, &json) == AIGC_STATUS_INVALID_ARGUMENT);
    CHECK(aigc_embed_file("a", NULL, PRODUCER, "x", &json) == AIGC_STATUS_INVALID_ARGUMENT);
    CHECK(aigc_inspect_file("\xff\xfe", &json) == AIGC_STATUS_INVALID_ARGUMENT);
    aigc_string_free(NULL);
    aigc_buffer_free(NULL, 0);
    CHECK(strlen(aigc_version()) > 0);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SAMPLES_DIR TMPDIR\n", argv[0]);
        return 64;
    }
    test_inspect_file(argv[1]);
    test_embed_and_inspect_buffers(argv[1]);
    test_embed_file(argv[1], argv[2]);
    test_bad_arguments();
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    puts("C ABI tests passed");
    return 0;
}
