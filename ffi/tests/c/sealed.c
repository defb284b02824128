/*
 * An encrypted gallery through the C API: created with a key in rl_open_options, searched
 * with it, refused with RL_ERR_KEY without it or with another key, and no file of the
 * gallery holds the enrolled subject id in clear. Run under valgrind in the test suite.
 *
 * Usage: sealed DATASET_IMAGE GALLERY_DIR
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ridgeline.h"

static int failures = 0;

#define EXPECT(call, expected)                                                              \
    do {                                                                                    \
        rl_status got_ = (call);                                                            \
        if (got_ != (expected)) {                                                           \
            fprintf(stderr, "FAIL %s:%d: %s returned %d, expected %d (%s)\n", __FILE__,     \
                    __LINE__, #call, (int)got_, (int)(expected), rl_last_error_message());  \
            failures++;                                                                     \
        }                                                                                   \
    } while (0)

/* How often `needle` occurs in the first 1 MiB of the file at `path`. */
static int occurrences(const char *path, const char *needle) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return -1;
    static char bytes[1 << 20];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    size_t k = strlen(needle);
    int count = 0;
    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(bytes + i, needle, k) == 0) count++;
    }
    return count;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s IMAGE GALLERY_DIR\n", argv[0]);
        return 2;
    }
    const char *image = argv[1];
    const char *gallery_dir = argv[2];
    static const char subject[] = "sealed-subject-4711";

    rl_template *t = NULL;
    EXPECT(rl_extract_from_file(image, &t), RL_OK);
    if (t == NULL) return 1;

    uint8_t key[32], other[32];
    for (int i = 0; i < 32; i++) {
        key[i] = (uint8_t)(i * 7 + 1);
        other[i] = (uint8_t)(i * 5 + 2);
    }
    rl_open_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.key = key;
    o.key_len = sizeof key;
    rl_gallery *writer = NULL;
    EXPECT(rl_gallery_open_with(gallery_dir, RL_OPEN_WRITE | RL_OPEN_CREATE, &o, &writer), RL_OK);
    EXPECT(rl_gallery_enroll(writer, subject, 1, t), RL_OK);
    rl_gallery_close(writer);

    rl_gallery *g = NULL;
    EXPECT(rl_gallery_open_with(gallery_dir, RL_OPEN_READ_ONLY, NULL, &g), RL_ERR_KEY);
    rl_open_options wrong = o;
    wrong.key = other;
    EXPECT(rl_gallery_open_with(gallery_dir, RL_OPEN_READ_ONLY, &wrong, &g), RL_ERR_KEY);
    EXPECT(rl_gallery_open_with(gallery_dir, RL_OPEN_READ_ONLY, &o, &g), RL_OK);
    rl_candidate *cands = NULL;
    size_t ncands = 0;
    EXPECT(rl_gallery_identify(g, t, 3, &cands, &ncands), RL_OK);
    if (ncands < 1 || strcmp(cands[0].id, subject) != 0) {
        fprintf(stderr, "FAIL: the enrolled subject is not the first candidate\n");
        failures++;
    }
    rl_candidates_free(cands, ncands);
    rl_gallery_close(g);

    DIR *d = opendir(gallery_dir);
    if (d == NULL) {
        fprintf(stderr, "FAIL: cannot list %s\n", gallery_dir);
        failures++;
    } else {
        int files = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.') continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", gallery_dir, e->d_name);
            files++;
            if (occurrences(path, subject) != 0) {
                fprintf(stderr, "FAIL: %s holds the subject id in clear\n", path);
                failures++;
            }
        }
        closedir(d);
        if (files < 4) {
            fprintf(stderr, "FAIL: only %d files in the gallery\n", files);
            failures++;
        }
    }

    rl_template_free(t);
    if (failures > 0) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("sealed: all checks passed\n");
    return 0;
}
