/*
 * The audit trail through the C API: rl_gallery_open_with names the operator, every
 * enrolment and search of the handle is recorded with it in GALLERY_DIR/AUDIT, a search
 * through a read-only handle appends while a writer holds the gallery, and bad options are
 * refused with RL_ERR_INVALID_ARGUMENT. Run under valgrind in the test suite.
 *
 * Usage: audit DATASET_IMAGE GALLERY_DIR
 */
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

/* How often `needle` occurs in the file at `path`. */
static int occurrences(const char *path, const char *needle) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return -1;
    static char bytes[1 << 16];
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
    char audit_path[4096];
    snprintf(audit_path, sizeof audit_path, "%s/AUDIT", gallery_dir);

    rl_template *t = NULL;
    EXPECT(rl_extract_from_file(image, &t), RL_OK);
    if (t == NULL) return 1;

    rl_open_options writer_options;
    memset(&writer_options, 0, sizeof writer_options);
    writer_options.struct_size = sizeof writer_options;
    writer_options.operator_id = "clerk-c";
    rl_gallery *writer = NULL;
    EXPECT(rl_gallery_open_with(gallery_dir, RL_OPEN_WRITE | RL_OPEN_CREATE, &writer_options,
                                &writer),
           RL_OK);
    EXPECT(rl_gallery_enroll(writer, "c-subject", 1, t), RL_OK);

    /* A reader with its own operator searches while the writer holds the gallery. */
    rl_open_options reader_options = writer_options;
    reader_options.operator_id = "desk-c";
    rl_gallery *reader = NULL;
    EXPECT(rl_gallery_open_with(gallery_dir, RL_OPEN_READ_ONLY, &reader_options, &reader), RL_OK);
    rl_candidate *cands = NULL;
    size_t ncands = 0;
    EXPECT(rl_gallery_identify(reader, t, 3, &cands, &ncands), RL_OK);
    rl_candidates_free(cands, ncands);

    /* NULL options: the defaults, no operator. */
    rl_gallery *plain = NULL;
    EXPECT(rl_gallery_open_with(gallery_dir, RL_OPEN_READ_ONLY, NULL, &plain), RL_OK);
    rl_gallery_close(plain);

    if (occurrences(audit_path, "clerk-c") != 2) { /* the creation and the enrolment */
        fprintf(stderr, "FAIL: clerk-c recorded %d times\n", occurrences(audit_path, "clerk-c"));
        failures++;
    }
    if (occurrences(audit_path, "desk-c") != 1) { /* the search */
        fprintf(stderr, "FAIL: desk-c recorded %d times\n", occurrences(audit_path, "desk-c"));
        failures++;
    }

    /* Bad options. */
    rl_gallery *bad = NULL;
    rl_open_options o = writer_options;
    o.struct_size = 3;
    EXPECT(rl_gallery_open_with(gallery_dir, RL_OPEN_READ_ONLY, &o, &bad), RL_ERR_INVALID_ARGUMENT);
    o.struct_size = sizeof o + 8;
    EXPECT(rl_gallery_open_with(gallery_dir, RL_OPEN_READ_ONLY, &o, &bad), RL_ERR_INVALID_ARGUMENT);
    o = writer_options;
    o.operator_id = "two\nlines";
    EXPECT(rl_gallery_open_with(gallery_dir, RL_OPEN_READ_ONLY, &o, &bad), RL_ERR_INVALID_ARGUMENT);
    o.operator_id = "";
    EXPECT(rl_gallery_open_with(gallery_dir, RL_OPEN_READ_ONLY, &o, &bad), RL_ERR_INVALID_ARGUMENT);
    o = writer_options;
    static const uint8_t key[32] = {1};
    o.key = key;
    o.key_len = sizeof key - 1;
    EXPECT(rl_gallery_open_with(gallery_dir, RL_OPEN_READ_ONLY, &o, &bad), RL_ERR_INVALID_ARGUMENT);
    o.key = NULL;
    o.key_len = sizeof key;
    EXPECT(rl_gallery_open_with(gallery_dir, RL_OPEN_READ_ONLY, &o, &bad), RL_ERR_INVALID_ARGUMENT);
    /* A key for a clear gallery. */
    o.key = key;
    EXPECT(rl_gallery_open_with(gallery_dir, RL_OPEN_READ_ONLY, &o, &bad), RL_ERR_KEY);
    /* A struct of the first version's size (struct_size and operator_id only) is read. */
    o = writer_options;
    o.struct_size = offsetof(rl_open_options, key);
    EXPECT(rl_gallery_open_with(gallery_dir, RL_OPEN_READ_ONLY, &o, &bad), RL_OK);
    rl_gallery_close(bad);
    if (bad == NULL) failures++;

    rl_gallery_close(reader);
    rl_gallery_close(writer);
    rl_template_free(t);
    if (failures > 0) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("audit: all checks passed\n");
    return 0;
}
