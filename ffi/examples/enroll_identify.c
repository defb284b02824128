/*
 * Ridgeline C API walk-through: extract templates from images, enrol them in a gallery,
 * identify a probe, de-register a person, identify again.
 *
 *   cc -Wall -Wextra -Werror -I ffi/include ffi/examples/enroll_identify.c \
 *      -L target/release -lridgeline -o enroll_identify
 *   ./enroll_identify ../shared/datasets/fvc2002/DB1_B /tmp/gallery
 *
 * Exit status 0 when every step behaved as expected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ridgeline.h"

#define CHECK(call)                                                                        \
    do {                                                                                   \
        rl_status status_ = (call);                                                        \
        if (status_ != RL_OK) {                                                            \
            fprintf(stderr, "%s:%d: %s failed with %d: %s\n", __FILE__, __LINE__, #call,   \
                    (int)status_, rl_last_error_message());                                \
            return 1;                                                                      \
        }                                                                                  \
    } while (0)

static int extract(const char *dataset, int finger, int impression, rl_template **out) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%d_%d.tif", dataset, finger, impression);
    CHECK(rl_extract_from_file(path, out));
    return 0;
}

static int identify(const rl_gallery *gallery, const rl_template *probe, char *best_id,
                    double *best_score) {
    rl_candidate *candidates = NULL;
    size_t count = 0;
    CHECK(rl_gallery_identify(gallery, probe, 3, &candidates, &count));
    for (size_t i = 0; i < count; i++) {
        printf("  candidate %zu: %s finger %u score %.2f\n", i + 1, candidates[i].id,
               (unsigned)candidates[i].finger, candidates[i].score);
    }
    best_id[0] = '\0';
    *best_score = 0.0;
    if (count > 0) {
        strncpy(best_id, candidates[0].id, 64);
        best_id[64] = '\0';
        *best_score = candidates[0].score;
    }
    rl_candidates_free(candidates, count);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s DATASET_DIR GALLERY_DIR\n", argv[0]);
        return 2;
    }
    const char *dataset = argv[1];
    const char *gallery_dir = argv[2];
    printf("ridgeline %s\n", rl_version());

    double threshold = 0.0;
    CHECK(rl_threshold_for_fmr(1e-4, &threshold));
    printf("threshold at FMR 1e-4 per comparison: %.4f\n", threshold);

    rl_gallery *gallery = NULL;
    CHECK(rl_gallery_open(gallery_dir, RL_OPEN_WRITE | RL_OPEN_CREATE, &gallery));

    /* Enrol the first impression of five fingers under five people's ids. */
    for (int finger = 101; finger <= 105; finger++) {
        rl_template *t = NULL;
        if (extract(dataset, finger, 1, &t) != 0) return 1;
        uint32_t minutiae = 0;
        uint8_t quality = 0;
        CHECK(rl_template_minutiae_count(t, &minutiae));
        CHECK(rl_template_quality(t, &quality));
        char id[32];
        snprintf(id, sizeof id, "person-%d", finger);
        CHECK(rl_gallery_enroll(gallery, id, 1, t));
        printf("enrolled %s: %u minutiae, quality %u\n", id, minutiae, (unsigned)quality);
        rl_template_free(t);
    }
    uint64_t count = 0;
    CHECK(rl_gallery_count(gallery, &count));
    printf("gallery holds %llu templates\n", (unsigned long long)count);
    if (count != 5) return 1;

    /* A second impression of finger 103, exchanged as ISO 19794-2 and read back. */
    rl_template *probe = NULL;
    if (extract(dataset, 103, 2, &probe) != 0) return 1;
    uint8_t *iso = NULL;
    size_t iso_len = 0;
    CHECK(rl_template_serialize(probe, RL_FORMAT_ISO19794_2_2005, &iso, &iso_len));
    rl_template *probe_iso = NULL;
    CHECK(rl_template_deserialize(iso, iso_len, &probe_iso));
    rl_buffer_free(iso, iso_len);
    printf("probe as ISO 19794-2:2005: %zu bytes\n", iso_len);

    /* "Already registered?" is decided at a false match rate per search: the score the best
     * candidate needs grows with the gallery (each template is a chance for an impostor). */
    double match = 0.0;
    CHECK(rl_gallery_match_threshold(gallery, 1e-4, &match));
    printf("match threshold at FMR 1e-4 per search over 5 templates: %.4f\n", match);
    if (match <= threshold) {
        fprintf(stderr, "a search over 5 templates needs more than one comparison\n");
        return 1;
    }

    char best[65];
    double score = 0.0;
    printf("identify 103_2:\n");
    if (identify(gallery, probe_iso, best, &score) != 0) return 1;
    if (strcmp(best, "person-103") != 0 || score < match) {
        fprintf(stderr, "expected person-103 to match, got '%s' %.4f\n", best, score);
        return 1;
    }
    printf("match: %s\n", best);

    /* De-register person-103; the probe must no longer find them above threshold. */
    CHECK(rl_gallery_remove(gallery, "person-103"));
    if (rl_gallery_remove(gallery, "person-103") != RL_ERR_NOT_FOUND) {
        fprintf(stderr, "removing twice should give RL_ERR_NOT_FOUND\n");
        return 1;
    }
    printf("identify 103_2 after removing person-103:\n");
    CHECK(rl_gallery_match_threshold(gallery, 1e-4, &match));
    if (identify(gallery, probe_iso, best, &score) != 0) return 1;
    if (strcmp(best, "person-103") == 0 || score >= match) {
        fprintf(stderr, "person-103 still found after removal ('%s' %.2f)\n", best, score);
        return 1;
    }

    rl_template_free(probe_iso);
    rl_template_free(probe);
    rl_gallery_close(gallery);
    printf("ok\n");
    return 0;
}
