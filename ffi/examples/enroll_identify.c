/*
 * Ridgeline C API walk-through: extract templates from images, enrol them in a gallery,
 * identify a probe, de-register a person, identify again. Then people: enrol persons with two
 * fingers each, decide with two fingers, and see a returning person refused under a new id.
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

/* Two prints of a person: fingers `first` and `first + 1` of the dataset, impression
 * `impression`, at positions 1 (right thumb) and 6 (left thumb). */
static int two_prints(const char *dataset, int first, int impression, rl_template *t[2],
                      rl_print prints[2]) {
    for (int i = 0; i < 2; i++) {
        if (extract(dataset, first + i, impression, &t[i]) != 0) return 1;
        prints[i].finger = i == 0 ? 1 : 6;
        prints[i].tmpl = t[i];
    }
    return 0;
}

/* People: one record per person, decisions with two fingers. */
static int people(const char *dataset, const char *gallery_dir) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s-people", gallery_dir);
    rl_gallery *gallery = NULL;
    CHECK(rl_gallery_open(dir, RL_OPEN_WRITE | RL_OPEN_CREATE, &gallery));
    rl_template *t[2];
    rl_print prints[2];
    char existing[65];
    /* Three people of two fingers each: 101+102, 103+104, 105+106. */
    for (int first = 101; first <= 105; first += 2) {
        char id[32];
        snprintf(id, sizeof id, "person-%d", first);
        if (two_prints(dataset, first, 1, t, prints) != 0) return 1;
        CHECK(rl_gallery_enroll_person(gallery, id, prints, 2, 0, 1e-4, existing));
        rl_template_free(t[0]);
        rl_template_free(t[1]);
    }
    uint64_t subjects = 0;
    CHECK(rl_gallery_subject_count(gallery, &subjects));
    printf("people gallery holds %llu subjects\n", (unsigned long long)subjects);
    if (subjects != 3) return 1;

    /* person-103 returns: both fingers decide together. */
    if (two_prints(dataset, 103, 2, t, prints) != 0) return 1;
    rl_person_candidate *candidates = NULL;
    size_t count = 0;
    rl_person_decision decision;
    CHECK(rl_gallery_identify_person(gallery, prints, 2, 3, 1e-4, &candidates, &count, &decision));
    for (size_t i = 0; i < count; i++) {
        printf("  candidate %zu: %s fused FMR %.1e score %.4f;", i + 1, candidates[i].id,
               candidates[i].fmr, candidates[i].score);
        for (uint32_t f = 0; f < candidates[i].finger_count; f++) {
            printf(" finger %u: %.4f (FMR %.1e)", (unsigned)candidates[i].fingers[f].finger,
                   candidates[i].fingers[f].score, candidates[i].fingers[f].fmr);
        }
        printf("\n");
    }
    int ok = decision.matched == 0 && count > 0 && strcmp(candidates[0].id, "person-103") == 0 &&
             candidates[0].finger_count == 2 && candidates[0].fmr <= decision.threshold_fmr;
    printf("two fingers: %s (needs fused FMR <= %.1e over %llu subjects)\n",
           ok ? "match person-103" : "NO MATCH", decision.threshold_fmr,
           (unsigned long long)decision.searched);
    rl_person_candidates_free(candidates, count);
    if (!ok) return 1;

    /* The same person asks to register under a new id: refused, naming the record. */
    rl_status refused = rl_gallery_enroll_person(gallery, "newcomer", prints, 2, 0, 1e-4, existing);
    printf("register 103_2 as newcomer: status %d, already enrolled as '%s'\n", (int)refused,
           existing);
    if (refused != RL_ERR_DUPLICATE || strcmp(existing, "person-103") != 0) return 1;
    /* A re-capture is an update of the person's own record. */
    CHECK(rl_gallery_enroll_person(gallery, "person-103", prints, 2, RL_ENROLL_UPDATE, 1e-4,
                                   existing));
    rl_template_free(t[0]);
    rl_template_free(t[1]);
    CHECK(rl_gallery_subject_count(gallery, &subjects));
    if (subjects != 3) return 1;
    rl_gallery_close(gallery);
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

    if (people(dataset, gallery_dir) != 0) return 1;
    printf("ok\n");
    return 0;
}
