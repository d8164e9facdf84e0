/* aigc-label from C: inspect an upload, label a generated file held in memory.
 *
 *   example FILE    prints the `inspect --json` object for FILE, then labels a copy of it in
 *                   memory and prints the object for the labelled copy.
 *
 * Build and run with `make run` (see the Makefile). */
#include <stdio.h>
#include <stdlib.h>

#include "aigc_label.h"

static unsigned char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, got;
    unsigned char *data = malloc(cap);
    while (data && (got = fread(data + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            unsigned char *bigger = realloc(data, cap *= 2);
            if (!bigger) { free(data); data = NULL; }
            else data = bigger;
        }
    }
    fclose(f);
    *len = n;
    return data;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 64;
    }

    /* A platform inspects an upload on disk. */
    char *json = NULL;
    AigcStatus status = aigc_inspect_file(argv[1], &json);
    if (json) puts(json);
    aigc_string_free(json);
    if (status != AIGC_STATUS_OK) {
        char *message = aigc_last_error();
        fprintf(stderr, "%s: %s\n", argv[1], message ? message : "?");
        aigc_string_free(message);
        return 3;
    }

    /* A generation service labels what it holds in memory. */
    size_t len = 0;
    unsigned char *data = read_all(argv[1], &len);
    if (!data) { perror(argv[1]); return 3; }
    unsigned char *labelled = NULL;
    size_t labelled_len = 0;
    char *embedded = NULL;
    status = aigc_embed_buffer(data, len, "001191440300708461136T1XGW3", "c-example-1",
                               &labelled, &labelled_len, &embedded);
    free(data);
    aigc_string_free(embedded);
    if (status != AIGC_STATUS_OK) {
        char *message = aigc_last_error();
        fprintf(stderr, "embed: %s (status %d)\n", message ? message : "?", (int)status);
        aigc_string_free(message);
        /* Markdown has no magic bytes: in memory it is not recognised (aigc_embed_file
         * recognises it by its extension). */
        if (status == AIGC_STATUS_UNSUPPORTED) return 0;
        return status == AIGC_STATUS_ALREADY_LABELLED ? 2 : 3;
    }

    /* And the copy reads back as labelled. */
    status = aigc_inspect_buffer(labelled, labelled_len, "labelled", &json);
    if (json) puts(json);
    aigc_string_free(json);
    aigc_buffer_free(labelled, labelled_len);
    return status == AIGC_STATUS_OK ? 0 : 3;
}
